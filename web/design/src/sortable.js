// SortableJS on a list Vue renders: Sortable moves DOM nodes, Vue owns them, so every drop
// puts the node back where it was and reports the move; the handler changes the data
// (through the store) and Vue renders the new order.
import Sortable from 'sortablejs'
import { onBeforeUnmount, onMounted } from 'vue'

export function useSortable(elRef, options) {
  let sortable = null
  // `onReorder(from, to)` and `onReceive(evt)` are ours (named apart from Sortable's own
  // callbacks such as onMove, which Sortable calls while dragging); the rest go to Sortable.
  const { onReorder, onReceive, ...rest } = options
  onMounted(() => {
    if (!elRef.value) return
    sortable = Sortable.create(elRef.value, {
      animation: 120,
      delayOnTouchOnly: true,
      delay: 150,
      fallbackTolerance: 4,
      ...rest,
      onUpdate(evt) {
        restore(evt)
        onReorder?.(evt.oldDraggableIndex, evt.newDraggableIndex, evt)
      },
      onAdd(evt) {
        if (evt.pullMode === 'clone') evt.item.remove()
        else restore(evt)
        onReceive?.(evt)
      },
    })
  })
  onBeforeUnmount(() => sortable?.destroy())
}

function restore(evt) {
  const { item, from, oldIndex } = evt
  item.remove()
  const before = from.children[oldIndex] || null
  from.insertBefore(item, before)
}
