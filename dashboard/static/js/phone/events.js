/**
 * The events every phone driver emits, and the small registry both drivers use:
 * 'registration' {state, reason?}, 'incoming' {from, displayName}, 'established',
 * 'held' {held}, 'ended' {reason}, 'error' {message}.
 *
 * @module phone/events
 */

export const PHONE_EVENTS = ["registration", "incoming", "established", "held", "ended", "error"];

export class PhoneEvents {
  /** @param {string} owner named in errors and logs */
  constructor(owner) {
    this._owner = owner;
    this._handlers = new Map();
  }

  /** Add a handler; returns a function that removes it. */
  on(event, handler) {
    if (!PHONE_EVENTS.includes(event)) {
      throw new TypeError(`${this._owner}: unknown event "${event}"`);
    }
    if (!this._handlers.has(event)) {
      this._handlers.set(event, new Set());
    }
    this._handlers.get(event).add(handler);
    return () => this._handlers.get(event)?.delete(handler);
  }

  /** Call every handler; one that throws is logged and the others still run. */
  emit(event, payload) {
    for (const handler of this._handlers.get(event) ?? []) {
      try {
        handler(payload);
      } catch (error) {
        console.error(`${this._owner}: '${event}' handler threw`, error);
      }
    }
  }
}
