import { describe, expect, it } from '@jest/globals';
import { knowledgeQueryFromInput, formatKnowledge } from './knowledge';
import { mcpToolName, MODEL_TOOL_NAME_RE, NameRegistry, safeToolName } from './names';
import { effectiveSchemas, inspectPlan } from './sql';
import { htmlToText } from './web';
import { withQuery } from './http-tool';

describe('tool names', () => {
  it('namespaces MCP tools as <slug>__<tool> within the providers’ rule', () => {
    expect(mcpToolName('github', 'list_prs')).toBe('github__list_prs');
    expect(mcpToolName('fs', 'read.file/v2')).toBe('fs__read_file_v2');
    const long = mcpToolName('a-very-long-server-slug-for-testing', 'an_equally_long_tool_name_that_goes_on_and_on');
    expect(long).toMatch(MODEL_TOOL_NAME_RE);
    expect(long.length).toBe(64);
    // Two long names that share their first 55 characters still differ (the hash of the whole).
    expect(mcpToolName('s', `${'x'.repeat(70)}a`)).not.toBe(mcpToolName('s', `${'x'.repeat(70)}b`));
    expect(safeToolName('')).toMatch(MODEL_TOOL_NAME_RE);
  });
  it('makes names unique within a toolset and keeps reserved names free', () => {
    const reg = new NameRegistry(['search_knowledge']);
    expect(reg.claim('search_knowledge')).toBe('search_knowledge_2');
    expect(reg.claim('lookup')).toBe('lookup');
    expect(reg.claim('lookup')).toBe('lookup_2');
    const a = reg.claim('y'.repeat(64));
    const b = reg.claim('y'.repeat(64));
    expect(a).not.toBe(b);
    expect(b).toMatch(MODEL_TOOL_NAME_RE);
  });
});

describe('knowledge query from a step input', () => {
  it('joins the distinct words of keys and values with or', () => {
    expect(knowledgeQueryFromInput({ question: 'How long do waffles cook?', maxMinutes: 10 })).toBe(
      'question or long or waffles or cook or max or minutes',
    );
  });
  it('handles strings, arrays, empty input and the word cap', () => {
    expect(knowledgeQueryFromInput('Pancake batter ratio')).toBe('pancake or batter or ratio');
    expect(knowledgeQueryFromInput(null)).toBe('');
    expect(knowledgeQueryFromInput([{ a: 'x' }])).toBe('');
    const many = Array.from({ length: 100 }, (_, i) => `word${i}`).join(' ');
    expect(knowledgeQueryFromInput(many, 5).split(' or ')).toHaveLength(5);
  });
  it('formats hits with their sources', () => {
    const text = formatKnowledge([
      {
        chunkId: 'c1',
        docId: 'd1',
        title: 'Catalog',
        scopeType: 'runner',
        scopeId: 'r',
        content: 'Waffles: 4 min',
        rank: 1,
      },
    ]);
    expect(text).toBe('[1] Catalog (runner knowledge, document d1, chunk c1)\nWaffles: 4 min');
  });
});

describe('SQL plan inspection', () => {
  it('flags writes and relations outside the allowed schemas', () => {
    const plan = {
      'Node Type': 'Hash Join',
      Plans: [
        { 'Node Type': 'Seq Scan', 'Relation Name': 'items', Schema: 'shop' },
        { 'Node Type': 'Seq Scan', 'Relation Name': 'users', Schema: 'auth' },
      ],
    };
    expect(inspectPlan(plan, ['shop'])).toEqual({ writes: false, foreign: ['auth.users'] });
    expect(inspectPlan({ 'Node Type': 'ModifyTable', Plans: [] }, ['shop']).writes).toBe(true);
    expect(effectiveSchemas([])).toEqual(['public']);
  });
});

describe('web helpers', () => {
  it('reduces HTML to readable text', () => {
    const html =
      '<html><head><title>t</title><style>p{}</style></head><body><p>Waffles &amp; pancakes</p><script>evil()</script><div>4&#160;min</div></body></html>';
    expect(htmlToText(html)).toBe('Waffles & pancakes\n 4\u00a0min');
  });
  it('puts GET arguments in the query string', () => {
    expect(withQuery('https://api.example.com/x?fixed=1', { q: 'a b', n: 2, filter: { a: 1 }, skip: null })).toBe(
      'https://api.example.com/x?fixed=1&q=a+b&n=2&filter=%7B%22a%22%3A1%7D',
    );
  });
});
