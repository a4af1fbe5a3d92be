import { describe, expect, it } from '@jest/globals';
import { checkJsonPath, evaluatePath, firstMatch } from './jsonpath';

const context = {
  input: {
    items: [
      { sku: 'a', price: 5, tags: ['x'] },
      { sku: 'b(1)', price: 20 },
      { sku: 'c', price: 12, stock: { count: 0 } },
      { sku: 'd' },
      7,
    ],
  },
  steps: {},
};

describe('JSONPath filter expressions', () => {
  it.each([
    '$.input.items[?(@.price > 10)]',
    '$.input.items[?(@.price > 10 && @.sku == "c")].sku',
    "$.input.items[?(@.sku === 'b(1)')]",
    '$.input.items[?((@.price > 1) || !(@.price))]',
    '$..[?(@.stock.count == 0)].sku',
    '$.input.items[?(@property == 0)]',
  ])('accepts %s', (expr) => {
    expect(checkJsonPath(expr)).toBeNull();
  });

  it('selects the matching items, and an item the filter cannot read is simply not a match', () => {
    expect(evaluatePath('$.input.items[?(@.price > 10)].sku', context)).toEqual(['b(1)', 'c']);
    expect(evaluatePath("$.input.items[?(@.sku === 'b(1)')].price", context)).toBe(20);
    // Only c has stock; the others (and the number 7) would throw when read: no match, not a failure.
    expect(evaluatePath('$.input.items[?(@.stock.count == 0)].sku', context)).toBe('c');
    expect(evaluatePath('$.input.items[?(@.price > 100)]', context)).toBeNull();
    expect(firstMatch('$.input.items[?(@.price < 10)].sku', context)).toBe('a');
  });

  it.each([
    ['$.input.items[(@.length-1)]', /script expressions are not allowed/],
    ['$.input.items[?(@.sku.toUpperCase() == "A")]', /may not call functions/],
    ['$.input.items[?(@.constructor.constructor("return process")())]', /may not call functions/],
    ['$.input.items[?(@.price = 3)]', /may not assign/],
    ['$.input.items[?(@.price++)]', /may not assign/],
    ['$.input.items[?(@.price > 1; @.x)]', /single comparison/],
    ['$.input.items[?(@.price >)]', /invalid filter expression/],
    ['$.input.items[?()]', /empty filter expression/],
    ['$.input.items[?(@.price > 10)', /unbalanced/],
  ])('refuses %s', (expr, why) => {
    expect(checkJsonPath(expr)).toMatch(why);
  });

  it('still treats parentheses inside a quoted member name as part of the name', () => {
    expect(checkJsonPath("$.input['weird (name)']")).toBeNull();
    expect(evaluatePath("$.input['weird (name)']", { input: { 'weird (name)': 1 } })).toBe(1);
  });
});
