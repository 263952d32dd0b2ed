// Running a request on behalf of a button: the group is "busy" while it is in flight (its
// buttons are disabled), and a failure is shown as the API's message in the group's error.

export function createRunner(store) {
  function setBusy(group, on) {
    store.update((state) => {
      const busy = new Set(state.busy);
      if (on) {
        busy.add(group);
      } else {
        busy.delete(group);
      }
      return { busy };
    });
  }

  function setMessage(kind, group, message) {
    store.update((state) => ({ [kind]: { ...state[kind], [group]: message || null } }));
  }

  /**
   * Run `task` for `group` unless one is already in flight.
   * @returns {Promise<{ok: boolean, value?: any, error?: Error}>}
   */
  async function run(group, task) {
    if (store.get().busy.has(group)) {
      return { ok: false, error: new Error("busy") };
    }
    setBusy(group, true);
    setMessage("errors", group, null);
    try {
      const value = await task();
      return { ok: true, value };
    } catch (error) {
      setMessage("errors", group, error?.message || String(error));
      return { ok: false, error };
    } finally {
      setBusy(group, false);
    }
  }

  return {
    run,
    fail: (group, message) => setMessage("errors", group, message),
    notify: (group, message) => setMessage("notices", group, message),
  };
}
