import { EventEmitter } from 'node:events';

/**
 * An EventEmitter whose event names and payloads are checked by the compiler. A listener that
 * throws is reported on `listenerError` instead of breaking the loop that emitted.
 */
export class TypedEmitter<Events extends object> {
  readonly #emitter = new EventEmitter();
  readonly #onListenerError: (error: unknown, event: string) => void;

  constructor(onListenerError: (error: unknown, event: string) => void = () => undefined) {
    this.#emitter.setMaxListeners(0);
    this.#onListenerError = onListenerError;
  }

  /** Adds a listener. */
  on<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): this {
    this.#emitter.on(event, listener);
    return this;
  }

  /** Adds a listener that runs once. */
  once<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): this {
    this.#emitter.once(event, listener);
    return this;
  }

  /** Removes a listener. */
  off<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): this {
    this.#emitter.off(event, listener);
    return this;
  }

  /** Emits to every listener; returns whether there were any. */
  protected emit<K extends keyof Events & string>(event: K, payload: Events[K]): boolean {
    // rawListeners, not listeners: a `once` listener is stored wrapped, and only calling the
    // wrapper removes it; the unwrapped listener would run on every later event too.
    const listeners = this.#emitter.rawListeners(event);
    for (const listener of listeners) {
      try {
        (listener as (p: Events[K]) => void)(payload);
      } catch (error) {
        this.#onListenerError(error, event);
      }
    }
    return listeners.length > 0;
  }
}
