import type { RoleStarter } from './start-service.js';

/** The background roles of `dfm serve`. The scheduler and executor register here. */
export const serviceRoles: Partial<Record<'scheduler' | 'worker', RoleStarter>> = {};
