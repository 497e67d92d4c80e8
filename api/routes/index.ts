import type { Route } from '../route';
import { attributionRoutes } from './attribution';
import { costRoutes } from './cost';
import { dashboardRoutes } from './dashboards';
import { hourlyUsageRoutes } from './hourly-usage';
import { orgtallyRoutes } from './orgtally';
import { roleRoutes } from './roles';
import { summaryRoutes } from './summaries';
import { validateRoutes } from './validate';

/** The route table: every endpoint the server has, and nothing else (the permission matrix test walks it). */
export const ROUTES: readonly Route[] = [
  ...validateRoutes,
  ...summaryRoutes,
  ...attributionRoutes,
  ...hourlyUsageRoutes,
  ...costRoutes,
  ...roleRoutes,
  ...dashboardRoutes,
  ...orgtallyRoutes,
];
