import { describe, expect, it } from 'vitest';
import { escapeMarkdown, fencedBlock, inlineCode } from './escape-markdown.js';

describe('escapeMarkdown', () => {
  it('keeps an error message from mentioning people, referencing issues or opening HTML', () => {
    expect(escapeMarkdown('ping @octocat and @org/team about #12 <img src=x>')).toBe('ping @&#8203;octocat and @&#8203;org/team about #&#8203;12 &lt;img src=x&gt;');
  });

  it('keeps table cells and formatting intact', () => {
    expect(escapeMarkdown('a | b *c* _d_ `e` [f](g) ~~h~~ \\')).toBe('a \\| b \\*c\\* \\_d\\_ \\`e\\` \\[f\\](g) \\~\\~h\\~\\~ \\\\');
  });

  it('puts several lines on one line and leaves ordinary punctuation readable', () => {
    expect(escapeMarkdown('relation "raw.orders" does not exist.\r\nLINE 1: select 1 - 2 (x)')).toBe('relation "raw.orders" does not exist. LINE 1: select 1 - 2 (x)');
  });

  it('escapes an ampersand so entities in user text stay literal', () => {
    expect(escapeMarkdown('a &lt; b & c')).toBe('a &amp;lt; b &amp; c');
  });
});

describe('inlineCode', () => {
  it('uses a longer fence when the text holds backticks', () => {
    expect(inlineCode('plain')).toBe('`plain`');
    expect(inlineCode('a`b')).toBe('``a`b``');
    expect(inlineCode('`x`')).toBe('`` `x` ``');
  });

  it('escapes pipes only inside tables', () => {
    expect(inlineCode('a|b', { inTable: true })).toBe('`a\\|b`');
    expect(inlineCode('a|b')).toBe('`a|b`');
  });
});

describe('fencedBlock', () => {
  it('is never closed by a fence inside the body', () => {
    expect(fencedBlock('diff', '+ select 1')).toBe('```diff\n+ select 1\n```');
    expect(fencedBlock('diff', '- ```\n+ ````')).toBe('`````diff\n- ```\n+ ````\n`````');
  });
});
