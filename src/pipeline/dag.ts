/**
 * The task graph of a pipeline: edges come from `needs` (upstream → downstream). Order is
 * deterministic: among tasks that are ready together, file order wins, so two runs of the same
 * definition always schedule and display tasks alike.
 */
export interface GraphTask {
  id: string;
  needs: readonly string[];
}

export interface TaskGraph {
  /** task → the tasks it needs (direct upstream), only ids that exist. */
  upstream: Map<string, string[]>;
  /** task → the tasks that need it (direct downstream). */
  downstream: Map<string, string[]>;
  /** Tasks without upstream, in file order. */
  roots: string[];
  /** Tasks without downstream, in file order. */
  leaves: string[];
}

export function taskGraph(pipeline: { tasks: readonly GraphTask[] }): TaskGraph {
  const ids = new Set(pipeline.tasks.map((t) => t.id));
  const upstream = new Map<string, string[]>();
  const downstream = new Map<string, string[]>();
  for (const task of pipeline.tasks) {
    upstream.set(task.id, [...new Set(task.needs.filter((n) => ids.has(n)))]);
    downstream.set(task.id, []);
  }
  for (const task of pipeline.tasks) for (const need of upstream.get(task.id)!) downstream.get(need)!.push(task.id);
  return {
    upstream,
    downstream,
    roots: pipeline.tasks.filter((t) => upstream.get(t.id)!.length === 0).map((t) => t.id),
    leaves: pipeline.tasks.filter((t) => downstream.get(t.id)!.length === 0).map((t) => t.id),
  };
}

/** Task ids, every task after all it needs (Kahn; ties in file order). Throws on a cycle. */
export function topologicalOrder(pipeline: { tasks: readonly GraphTask[] }): string[] {
  const { upstream, downstream } = taskGraph(pipeline);
  const position = new Map(pipeline.tasks.map((t, i) => [t.id, i]));
  const waiting = new Map([...upstream].map(([id, ups]) => [id, ups.length]));
  const ready = pipeline.tasks.filter((t) => waiting.get(t.id) === 0).map((t) => t.id);
  const order: string[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => position.get(a)! - position.get(b)!);
    const id = ready.shift()!;
    order.push(id);
    for (const next of downstream.get(id)!) {
      const left = waiting.get(next)! - 1;
      waiting.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  if (order.length !== pipeline.tasks.length) {
    const cycle = findCycles(pipeline)[0] ?? [];
    throw new RangeError(`Cycle in task dependencies: ${cycle.join(' → ')}`);
  }
  return order;
}

/** All tasks `taskId` depends on, directly or not. */
export function ancestorsOf(graph: TaskGraph, taskId: string): Set<string> {
  const seen = new Set<string>();
  const stack = [...(graph.upstream.get(taskId) ?? [])];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(graph.upstream.get(id) ?? []));
  }
  return seen;
}

/**
 * One cycle per strongly connected component that has one (Tarjan), each as a closed path
 * `[a, b, c, a]` starting at its first task in file order and following `needs` edges in
 * dependency direction (a needs b, b needs c, c needs a).
 */
export function findCycles(pipeline: { tasks: readonly GraphTask[] }): string[][] {
  const { upstream } = taskGraph(pipeline);
  const order = pipeline.tasks.map((t) => t.id);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  // Iterative Tarjan: a pipeline can have thousands of tasks, recursion would overflow.
  for (const start of order) {
    if (index.has(start)) continue;
    const work: { id: string; next: number }[] = [{ id: start, next: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const edges = upstream.get(frame.id)!;
      if (frame.next < edges.length) {
        const to = edges[frame.next++]!;
        if (!index.has(to)) {
          index.set(to, counter);
          low.set(to, counter++);
          stack.push(to);
          onStack.add(to);
          work.push({ id: to, next: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.id, Math.min(low.get(frame.id)!, index.get(to)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.id, Math.min(low.get(parent.id)!, low.get(frame.id)!));
      if (low.get(frame.id) === index.get(frame.id)) {
        const component: string[] = [];
        let id: string;
        do {
          id = stack.pop()!;
          onStack.delete(id);
          component.push(id);
        } while (id !== frame.id);
        const selfLoop = component.length === 1 && upstream.get(component[0]!)!.includes(component[0]!);
        if (component.length > 1 || selfLoop) components.push(component);
      }
    }
  }
  const position = new Map(order.map((id, i) => [id, i]));
  return components
    .map((component) => closedPath(component.sort((a, b) => position.get(a)! - position.get(b)!), upstream))
    .sort((a, b) => position.get(a[0]!)! - position.get(b[0]!)!);
}

/** A shortest cycle through the component's first task (BFS inside the component). */
function closedPath(component: string[], upstream: Map<string, string[]>): string[] {
  const members = new Set(component);
  const start = component[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const id = queue.shift()!;
    for (const to of upstream.get(id)!) {
      if (!members.has(to)) continue;
      if (to === start) {
        const path = [start];
        for (let at = id; at !== start; at = previous.get(at)!) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!previous.has(to)) {
        previous.set(to, id);
        queue.push(to);
      }
    }
  }
  return [start, start];
}
