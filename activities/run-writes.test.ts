import { describe, expect, it } from '@jest/globals';
import { createRunWrites, type DeferredOutcome } from './run-writes';

/** A write the test finishes by hand: `resolve`/`reject` settle its current try. */
function manualWrite() {
  const tries: { resolve: (o: DeferredOutcome) => void; reject: (e: Error) => void }[] = [];
  const write = () =>
    new Promise<DeferredOutcome>((resolve, reject) => {
      tries.push({ resolve, reject });
    });
  return { write, tries };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('run writes (what activities leave in flight for a run)', () => {
  it('starts a deferred write at once, and settle waits for it', async () => {
    const w = createRunWrites();
    const m = manualWrite();
    w.defer('run-1', 'run-1:step:1', m.write);
    expect(m.tries).toHaveLength(1);
    expect(w.state('run-1:step:1')).toBe('pending');

    let settled = false;
    const waiting = w.settle('run-1').then(() => (settled = true));
    await tick();
    expect(settled).toBe(false);
    m.tries[0]?.resolve('recorded');
    await waiting;
    expect(w.state('run-1:step:1')).toBe('recorded');
  });

  it('tries a failed write once more on settle, and throws while it still fails', async () => {
    const w = createRunWrites();
    const m = manualWrite();
    w.defer('run-1', 'k', m.write);
    m.tries[0]?.reject(new Error('database down'));
    await tick();

    const first = w.settle('run-1');
    await tick();
    expect(m.tries).toHaveLength(2);
    m.tries[1]?.reject(new Error('still down'));
    await expect(first).rejects.toThrow('still down');
    expect(w.state('k')).toBe('pending');

    // The next settle (a retried activity) tries again; two waiters share the one try.
    const a = w.settle('run-1');
    const b = w.settle('run-1');
    await tick();
    expect(m.tries).toHaveLength(3);
    m.tries[2]?.resolve('recorded');
    await Promise.all([a, b]);
    expect(w.state('k')).toBe('recorded');
  });

  it('reports a superseded row, keeps runs apart, and forgets a run once its rows are in', async () => {
    const w = createRunWrites();
    const m1 = manualWrite();
    const m2 = manualWrite();
    w.defer('run-1', 'run-1:s:1', m1.write);
    w.defer('run-2', 'run-2:s:1', m2.write);
    m1.tries[0]?.resolve('superseded');
    await w.settle('run-1'); // does not wait for run-2's write
    expect(w.state('run-1:s:1')).toBe('superseded');
    expect(w.state('run-2:s:1')).toBe('pending');

    w.forget('run-1');
    expect(w.state('run-1:s:1')).toBeUndefined();
    w.forget('run-2'); // still pending: kept
    expect(w.state('run-2:s:1')).toBe('pending');
    m2.tries[0]?.resolve('recorded');
    await w.drain();
    expect(w.state('run-2:s:1')).toBe('recorded');
  });

  it('waits for bookings too, and drain never throws', async () => {
    const w = createRunWrites();
    let booked = false;
    w.book(
      'run-1',
      new Promise<void>((r) => setTimeout(r, 20)).then(() => {
        booked = true;
      }),
    );
    await w.settle('run-1');
    expect(booked).toBe(true);

    const m = manualWrite();
    w.defer('run-3', 'k3', m.write);
    m.tries[0]?.reject(new Error('down'));
    await tick();
    const drained = w.drain();
    await tick();
    m.tries[1]?.reject(new Error('down again'));
    await expect(drained).resolves.toBeUndefined();
  });
});
