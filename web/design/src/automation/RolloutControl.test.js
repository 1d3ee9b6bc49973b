import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { reactive } from 'vue'
import { LANG } from '../i18n.js'
import RolloutControl from './RolloutControl.vue'

const PEOPLE = {
  users: [
    { id: 1, name: '王经理', username: 'wang', role: 'manager' },
    { id: 2, name: '李销售', username: 'li', role: 'rep' },
  ],
  roles: ['admin', 'manager', 'rep'],
}

function setup(trigger, { problems = [], lang = 'en', api } = {}) {
  const state = reactive({ trigger })
  const edits = []
  const edit = vi.fn((name, fn) => {
    const copy = JSON.parse(JSON.stringify(state.trigger))
    fn(copy)
    state.trigger = copy
    edits.push(name)
  })
  const problemsAt = vi.fn((suffix) => problems.filter((p) => p.path.startsWith(`$.triggers[0]${suffix}`)))
  const client = api || { get: vi.fn(async () => PEOPLE) }
  const wrapper = mount(RolloutControl, {
    props: { trigger: state.trigger, edit, problemsAt, api: client, appId: 5 },
    global: { provide: { [LANG]: lang } },
  })
  const sync = async () => { await wrapper.setProps({ trigger: state.trigger }) }
  return { wrapper, state, edit, edits, problemsAt, api: client, sync }
}

describe('RolloutControl', () => {
  it('goes from everyone to a group of users and roles, and back', async () => {
    const { wrapper, state, api, sync, edits } = setup({ key: 'need_timeout', actions: [] })
    await flushPromises()
    expect(api.get).toHaveBeenCalledWith('/apps/5/people')
    expect(wrapper.find('[data-testid="rollout-everyone"]').element.checked).toBe(true)
    expect(wrapper.find('[data-testid="rollout-user-2"]').exists()).toBe(false)

    await wrapper.find('[data-testid="rollout-group"]').setValue(true)
    await sync()
    expect(state.trigger.rollout).toEqual({})
    await wrapper.find('[data-testid="rollout-user-2"]').setValue(true)
    await sync()
    expect(state.trigger.rollout).toEqual({ users: [2] })
    await wrapper.find('[data-testid="rollout-role-manager"]').setValue(true)
    await sync()
    expect(state.trigger.rollout).toEqual({ users: [2], roles: ['manager'] })
    await wrapper.find('[data-testid="rollout-user-2"]').setValue(false)
    await sync()
    expect(state.trigger.rollout).toEqual({ roles: ['manager'] })

    await wrapper.find('[data-testid="rollout-everyone"]').setValue(true)
    await sync()
    expect('rollout' in state.trigger).toBe(false)
    expect(edits).toEqual(['Roll out to a group', 'Change rollout users', 'Change rollout roles',
      'Change rollout users', 'Roll out to everyone'])
  })

  it("shows the server's problems and users that no longer exist", async () => {
    const problems = [{ path: '$.triggers[0].rollout.users[0]', code: 'unknown_reference',
      message: 'There is no user 99 in this workspace.', message_zh: '工作区中没有用户 99。' }]
    const { wrapper, state, sync, problemsAt } = setup({ key: 'x', rollout: { users: [99, 1] } }, { problems, lang: 'zh' })
    await flushPromises()
    expect(problemsAt).toHaveBeenCalledWith('.rollout')
    expect(wrapper.find('[data-testid="problem"]').text()).toContain('工作区中没有用户 99')
    expect(wrapper.find('[data-testid="rollout-user-1"]').element.checked).toBe(true)
    const gone = wrapper.find('[data-testid="rollout-unknown"]')
    expect(gone.text()).toContain('用户 99')
    await gone.find('button').trigger('click')
    await sync()
    expect(state.trigger.rollout).toEqual({ users: [1] })
  })

  it('says when the users cannot be loaded', async () => {
    const api = { get: vi.fn(async () => { throw new Error('offline') }) }
    const { wrapper } = setup({ key: 'x', rollout: { roles: ['rep'] } }, { api })
    await flushPromises()
    expect(wrapper.find('[data-testid="rollout-error"]').text()).toContain("Couldn't load the users")
    expect(wrapper.find('[data-testid="rollout-unknown"]').exists()).toBe(false)
  })
})
