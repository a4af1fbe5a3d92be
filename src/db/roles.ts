/**
 * The two database roles the app acts as (created by the RLS migrations; neither can log in or bypass
 * row-level security). Every pooled connection starts as APP_ROLE, so a query that names no org sees
 * no org rows; `withOrg` sets the org, and `withSystem` (a short, listed set of cross-org paths) switches
 * to SYSTEM_ROLE, whose policy admits every row. See docs/tenancy.md.
 */
export const APP_ROLE = 'flapjack_app';
export const SYSTEM_ROLE = 'flapjack_system';

export type DbRole = typeof APP_ROLE | typeof SYSTEM_ROLE;
