/**
 * Resources a task keeps beside a task pool and across runs, ended with it: create-connections.ts
 * ends a pool's companions when it ends the pool, without knowing which task made them (today
 * kafka.to_postgres's pool of its other writers, kafka-to-postgres/writers-pool.ts).
 */
import type pg from 'pg';

export interface PoolCompanion {
  end(): Promise<void>;
}

const companions = new WeakMap<pg.Pool, Map<string, PoolCompanion>>();

/** The pool's companion of this name: the one made before while `usable` says so, else a new one from `create`. */
export function companionOf<T extends PoolCompanion>(pool: pg.Pool, name: string, create: () => T, usable: (existing: T) => boolean = () => true): T {
  let ofPool = companions.get(pool);
  if (ofPool === undefined) companions.set(pool, (ofPool = new Map()));
  const existing = ofPool.get(name) as T | undefined;
  if (existing !== undefined && usable(existing)) return existing;
  const made = create();
  ofPool.set(name, made);
  return made;
}

/** Ends every companion of the pool (with the pool, on shutdown). */
export async function endCompanions(pool: pg.Pool): Promise<void> {
  const ofPool = companions.get(pool);
  companions.delete(pool);
  await Promise.all([...(ofPool?.values() ?? [])].map((companion) => companion.end()));
}
