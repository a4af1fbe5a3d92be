import { describe, expect, it } from '@jest/globals';
import { finalOutput, type CallModelResult } from '../src/shared/agent-types';
import { differs } from './agent';

const answer = (over: Partial<CallModelResult>): CallModelResult => ({
  text: 'done',
  toolCalls: [],
  stopReason: 'end',
  usage: { inputTokens: 1, outputTokens: 2, cachedTokens: 0 },
  costUsd: 0.1,
  ...over,
});

describe('differs (an answer against the one the ledger holds)', () => {
  it('ignores key order, as jsonb reorders keys', () => {
    const a = {
      text: 'x',
      usage: { inputTokens: 1, outputTokens: 2, cachedTokens: 0 },
      toolCalls: [{ id: 'a', n: 1 }],
    };
    const b = {
      toolCalls: [{ n: 1, id: 'a' }],
      usage: { cachedTokens: 0, outputTokens: 2, inputTokens: 1 },
      text: 'x',
    };
    expect(differs(a, b)).toBe(false);
  });

  it('sees a different value, and a different array order', () => {
    expect(differs({ text: 'x' }, { text: 'y' })).toBe(true);
    expect(differs({ l: [1, 2] }, { l: [2, 1] })).toBe(true);
    expect(differs({ a: 1 }, { a: 1, b: null })).toBe(true);
  });
});

describe('finalOutput (what ends an agent step)', () => {
  it('is {text} without an outputSchema, and nothing while the model asks for tools', () => {
    expect(finalOutput(answer({}), null)).toEqual({ value: { text: 'done' } });
    expect(finalOutput(answer({ text: null }), null)).toEqual({ value: { text: '' } });
    expect(finalOutput(answer({ toolCalls: [{ id: '1', name: 't', arguments: {} }] }), null)).toBeNull();
  });

  it('is the valid JSON answer with an outputSchema, and nothing when it does not match', () => {
    const schema = { type: 'object' };
    expect(finalOutput(answer({ output: { ok: true, value: { n: 1 } } }), schema)).toEqual({ value: { n: 1 } });
    expect(finalOutput(answer({ output: { ok: false, errors: ['bad'] } }), schema)).toBeNull();
    expect(finalOutput(answer({}), schema)).toBeNull();
  });
});
