import { describe, expect, it } from 'vitest';
import { findCycles, taskGraph, topologicalOrder } from './dag.js';

const t = (id: string, ...needs: string[]) => ({ id, needs });

describe('task graph', () => {
  it('orders tasks after what they need, ties in file order', () => {
    const pipeline = { tasks: [t('report', 'land'), t('setup'), t('land', 'setup'), t('audit', 'setup')] };
    expect(topologicalOrder(pipeline)).toEqual(['setup', 'land', 'report', 'audit']);
    const graph = taskGraph(pipeline);
    expect(graph.roots).toEqual(['setup']);
    expect(graph.leaves).toEqual(['report', 'audit']);
    expect(graph.downstream.get('setup')).toEqual(['land', 'audit']);
  });

  it('names each cycle as a closed path in dependency direction', () => {
    const pipeline = { tasks: [t('a', 'c'), t('b', 'a'), t('c', 'b'), t('d', 'd'), t('e')] };
    expect(findCycles(pipeline)).toEqual([
      ['a', 'c', 'b', 'a'],
      ['d', 'd'],
    ]);
    expect(() => topologicalOrder(pipeline)).toThrow('Cycle in task dependencies: a → c → b → a');
  });

  it('handles long chains without recursion limits', () => {
    const tasks = Array.from({ length: 20_000 }, (_, i) => (i === 0 ? t('t0') : t(`t${i}`, `t${i - 1}`)));
    expect(topologicalOrder({ tasks }).at(-1)).toBe('t19999');
    expect(findCycles({ tasks })).toEqual([]);
  });
});
