/**
 * From a data path (`['tasks', 'load', 'needs', 0]`) to a source range in the YAML text. Aliases
 * are followed. When the path goes deeper than the document (a missing field), the range is the key
 * of the deepest mapping that exists, which is where the user has to add the field.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, type Document, type Node, type Pair } from 'yaml';

export interface SourceSpan {
  start: number;
  end: number;
}

export interface Position {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

interface Located {
  node: Node | null;
  /** The pair whose value is `node` (undefined for the root and list items). */
  pair: Pair | undefined;
  /** True when the whole path was found. */
  complete: boolean;
}

function keyText(pair: Pair): string | undefined {
  const key = pair.key;
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' || typeof key === 'number' ? String(key) : undefined;
}

function resolve(doc: Document, node: unknown): Node | null {
  let current = node;
  for (let hops = 0; isAlias(current) && hops < 100; hops++) current = current.resolve(doc);
  return (current as Node | undefined) ?? null;
}

function walk(doc: Document, path: readonly (string | number)[]): Located {
  let node = resolve(doc, doc.contents);
  let pair: Pair | undefined;
  for (const segment of path) {
    if (isMap(node)) {
      const found = node.items.find((item) => isPair(item) && keyText(item) === String(segment));
      if (!found) return { node, pair, complete: false };
      pair = found;
      node = resolve(doc, found.value);
      if (node === null) return { node: null, pair, complete: true };
    } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
      pair = undefined;
      node = resolve(doc, node.items[segment]);
      if (node === null) return { node: null, pair, complete: false };
    } else {
      return { node, pair, complete: false };
    }
  }
  return { node, pair, complete: true };
}

function rangeOf(node: unknown): SourceSpan | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? { start: range[0], end: range[1] } : undefined;
}

/** First line of a span: collections span many lines, a diagnostic should not. */
function firstLine(text: string, span: SourceSpan): SourceSpan {
  const newline = text.indexOf('\n', span.start);
  return { start: span.start, end: newline === -1 || newline > span.end ? span.end : newline };
}

/**
 * The span to report for a path. `target: 'key'` reports the key itself (unknown fields, bad task
 * ids). Collections are reported at their key, scalars at their value.
 */
export function locatePath(doc: Document, text: string, path: readonly (string | number)[], target: 'value' | 'key' = 'value'): SourceSpan {
  const located = walk(doc, path);
  const keySpan = located.pair ? rangeOf(located.pair.key) : undefined;
  if (target === 'key' && located.complete && keySpan) return keySpan;
  if (!located.complete) {
    // The path goes into a scalar (e.g. ['sql', 0] where sql is one string): report the scalar.
    if (isScalar(located.node)) {
      const span = rangeOf(located.node);
      if (span && span.end > span.start) return span;
    }
    // A missing field: point at the mapping's key, or the first line of the mapping.
    if (keySpan) return keySpan;
    const span = rangeOf(located.node);
    return span ? firstLine(text, span) : { start: 0, end: 0 };
  }
  const node = located.node;
  if (node === null || isMap(node) || isSeq(node)) {
    if (keySpan) return keySpan;
    const span = rangeOf(node);
    return span ? firstLine(text, span) : { start: 0, end: 0 };
  }
  const span = rangeOf(node);
  if (span && span.end > span.start) return span;
  return keySpan ?? span ?? { start: 0, end: 0 };
}

/**
 * The span of `length` characters at `offset` inside the string value at `path`, when the source
 * spells the value literally (plain, quoted without escapes, or a `|` block); otherwise the value.
 * Each mapping is verified against the source text, so a wrong guess can only widen the span.
 */
export function locateInString(doc: Document, text: string, path: readonly (string | number)[], offset: number, length: number): SourceSpan {
  const whole = locatePath(doc, text, path);
  const located = walk(doc, path);
  const node = located.node;
  if (!isScalar(node) || typeof node.value !== 'string' || !node.range) return whole;
  const value = node.value;
  const wanted = value.slice(offset, offset + length);
  const [start, end] = node.range;
  let candidate: number | undefined;
  if (node.type === 'PLAIN' || node.type === 'QUOTE_SINGLE' || node.type === 'QUOTE_DOUBLE') {
    const quote = node.type === 'PLAIN' ? 0 : 1;
    if (text.slice(start + quote, end - quote) === value) candidate = start + quote + offset;
  } else if (node.type === 'BLOCK_LITERAL') {
    const lineIndex = value.slice(0, offset).split('\n').length - 1;
    const column = offset - (value.lastIndexOf('\n', offset - 1) + 1);
    const headerEnd = text.indexOf('\n', start);
    if (headerEnd !== -1) {
      const lines = text.slice(headerEnd + 1, end).split('\n');
      const firstContent = lines.find((l) => l.trim() !== '') ?? '';
      const indent = firstContent.length - firstContent.trimStart().length;
      let lineStart = headerEnd + 1;
      for (let i = 0; i < lineIndex && i < lines.length; i++) lineStart += lines[i]!.length + 1;
      candidate = lineStart + indent + column;
    }
  }
  if (candidate !== undefined && text.slice(candidate, candidate + length) === wanted) return { start: candidate, end: candidate + length };
  return whole;
}

/**
 * Line starts of the whole text. The parser's own LineCounter only records the newlines its lexer
 * reached, which after a syntax error is not all of them (found by the fuzz test).
 */
export function lineCounterFor(text: string): LineCounter {
  const counter = new LineCounter();
  counter.addNewLine(0);
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) counter.addNewLine(i + 1);
  return counter;
}

/** 1-based line/column of a span; the end is exclusive and never before the start. */
export function toPosition(lineCounter: LineCounter, text: string, span: SourceSpan): Position {
  const clamp = (offset: number) => Math.max(0, Math.min(offset, text.length));
  const start = lineCounter.linePos(clamp(span.start));
  let end = lineCounter.linePos(clamp(Math.max(span.end, span.start)));
  if (end.line === start.line && end.col <= start.col && span.start < text.length && text[span.start] !== '\n' && text[span.start] !== '\r') end = { line: start.line, col: start.col + 1 };
  return { line: start.line, column: start.col, endLine: end.line, endColumn: end.col };
}
