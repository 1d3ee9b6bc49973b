import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import App from './App.vue'

describe('App', () => {
  it('speaks the page language', () => {
    expect(mount(App, { props: { lang: 'en' } }).text()).toBe('Designer')
    expect(mount(App, { props: { lang: 'zh' } }).text()).toBe('设计器')
  })
})
