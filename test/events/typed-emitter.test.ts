import { describe, expect, it } from 'vitest';
import { TypedEmitter } from '../../src/events/index.js';

class Counter extends TypedEmitter<{ tick: number }> {
  fire(n: number): void {
    this.emit('tick', n);
  }
}

describe('TypedEmitter', () => {
  it('runs a once listener for the first event only', () => {
    const counter = new Counter();
    const seen: number[] = [];
    counter.once('tick', (n) => seen.push(n));
    counter.fire(1);
    counter.fire(2);
    expect(seen).toEqual([1]);
  });

  it('keeps on listeners for every event and removes them with off', () => {
    const counter = new Counter();
    const seen: number[] = [];
    const listener = (n: number): void => void seen.push(n);
    counter.on('tick', listener);
    counter.fire(1);
    counter.fire(2);
    counter.off('tick', listener);
    counter.fire(3);
    expect(seen).toEqual([1, 2]);
  });

  it('can remove a once listener before it runs', () => {
    const counter = new Counter();
    const seen: number[] = [];
    const listener = (n: number): void => void seen.push(n);
    counter.once('tick', listener);
    counter.off('tick', listener);
    counter.fire(1);
    expect(seen).toEqual([]);
  });
});
