// Entry of the designer island: mounts the Vue app on #designer (web/design/templates).
import { createApp } from 'vue'
import App from './App.vue'
import './designer.css'

const root = document.getElementById('designer')
if (root) {
  createApp(App, { ...root.dataset }).mount(root)
}
