// Entry of the designer island: mounts the Vue app on #designer (web/design/templates).
import { createApp } from 'vue'
import App from './App.vue'
import './designer.css'
import { LANG } from './i18n.js'

const root = document.getElementById('designer')
if (root) {
  createApp(App, { ...root.dataset }).provide(LANG, root.dataset.lang === 'en' ? 'en' : 'zh').mount(root)
}
