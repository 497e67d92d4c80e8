import type { Knex } from 'knex';
import type { Requirement } from '../domain/access';
import type { Scope } from '../queries/scope';
import type { Html } from './html';

/**
 * One page of the console: its path, what it needs of the signed-in user, and its renderer. The page table
 * (web/pages/index.ts) drives the routes, the navigation (a page the user may not open is not listed) and the
 * 404 a user gets for a page it may not open.
 */
export interface PageCtx {
  db: Knex;
  scope: Scope;
  /** The signed-in user's e-mail. */
  email: string;
  /** Query parameters, each given at most once (a repeated one is a 400 before the page runs). */
  query: Record<string, string | undefined>;
  params: Record<string, string>;
  /** The request's instant: "now" on every page is this. */
  now: number;
  /** The CSRF token every form of the page must carry. */
  csrf: string;
  /** A form that was refused: its values and why, to show beside the fields. */
  refused?: { form: Record<string, string>; error: string };
  /** Mail settings and other process configuration a page may show or use. */
  config: ConsoleConfig;
}

export interface ConsoleConfig {
  /** The console's own address, for links in mail (invitations). */
  publicUrl: string;
  /** How long an invitation stays valid. */
  inviteTtlMs: number;
  /** How long a viewer of an invite-only shared dashboard stays in after proving its address (days). */
  shareSessionMs: number;
  /** SMTP for invitations (through the delivery ledger); unset: the link is shown to hand over by hand. */
  mail?: { url: string; from: string };
}

export interface Rendered {
  title: string;
  body: Html;
  status?: number;
}

/** A file to stream (month-end CSV, attribution TSV), straight from where it is kept. */
export interface PageDownload {
  download: { filename: string; contentType: string; stream: NodeJS.ReadableStream };
}

export interface Page {
  path: string;
  /** Listed in the navigation under this label, in table order; absent: reached by links only. */
  nav?: string;
  need: Requirement;
  render(ctx: PageCtx): Promise<Rendered | PageDownload>;
}

/** A form's target: it changes something, then sends the browser on (or shows a page, e.g. a secret shown once). */
export interface Action {
  path: string;
  need: Requirement;
  /** The page shown again, with the refusal beside the fields, when the form is refused (a 400). */
  back: string;
  handle(ctx: PageCtx & { form: Record<string, string> }): Promise<{ redirect: string } | Rendered>;
}
