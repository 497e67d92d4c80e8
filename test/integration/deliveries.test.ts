import type { Knex } from 'knex';
import { planDeliveries, sendOnce, type AttemptMemo, type Transmission } from '../../db/deliveries';
import { cloneTestDatabase } from '../support/db';
import { applyExample } from '../support/fixtures';

/** The ledger's claim-then-record protocol (docs/adr/0003-delivery-ledger.md) on a real database. */
let db: Knex;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, drop } = await cloneTestDatabase());
  await applyExample(db);
});
afterAll(async () => drop());

let n = 0;
async function newRow(): Promise<string> {
  const [d] = await planDeliveries(
    db,
    [
      {
        dedupeKey: `test/${++n}`,
        kind: 'alert',
        accountId: 'acme',
        reference: {},
        recipient: 'ops@acme.example',
      },
    ],
    'orgtally.test',
  );
  return (d as { id: string }).id;
}

function mailer(during?: () => Promise<void>) {
  const sent: string[] = [];
  const prepare = async (): Promise<Transmission> => ({
    subject: 'test',
    transmit: async () => {
      sent.push('mail');
      await during?.();
      return { response: '250 queued' };
    },
  });
  return { sent, prepare };
}

const row = (id: string) =>
  db('deliveries').where({ id }).first('status', 'attempts', 'unknown_outcomes', 'last_error', 'sent_at');

describe('sendOnce', () => {
  it('sends once, records the reply and its time; a second call sends nothing', async () => {
    const id = await newRow();
    const m = mailer(() => new Promise((r) => setTimeout(r, 300))); // the server takes 300 ms to answer
    const before = Date.now();
    expect(await sendOnce(db, id, m.prepare)).toMatchObject({
      status: 'sent',
      alreadySent: false,
      attempts: 1,
    });
    expect(await sendOnce(db, id, m.prepare)).toMatchObject({ status: 'sent', alreadySent: true });
    expect(m.sent).toHaveLength(1);
    const r = await row(id);
    expect(r).toMatchObject({ status: 'sent', attempts: 1, unknown_outcomes: 0 });
    expect(new Date(r.sent_at).getTime()).toBeGreaterThanOrEqual(before - 1000);
    // sent_at is the time of the server's reply, not of the claim (the old ledger recorded the lock's time)
    const { claimed_at, sent_at } = await db('deliveries').where({ id }).first('claimed_at', 'sent_at');
    expect(new Date(sent_at).getTime() - new Date(claimed_at).getTime()).toBeGreaterThanOrEqual(250);
  });

  it('a reply it could not record is recorded by the next attempt of the process, without sending again', async () => {
    const id = await newRow();
    // The ledger refuses the "sent" mark while the message is with the server (as a lost database would).
    const m = mailer(() =>
      db.raw(
        `ALTER TABLE deliveries ADD CONSTRAINT test_no_sent CHECK (id <> ${Number(id)} OR status <> 'sent')`,
      ),
    );
    const memo: AttemptMemo = new Map();
    try {
      await expect(sendOnce(db, id, m.prepare, memo)).rejects.toThrow(/test_no_sent/);
    } finally {
      await db.raw('ALTER TABLE deliveries DROP CONSTRAINT test_no_sent');
    }
    expect((await row(id)).status).toBe('sending');
    expect(await sendOnce(db, id, m.prepare, memo)).toMatchObject({ status: 'sent', response: '250 queued' });
    expect(m.sent).toHaveLength(1);
    expect(await row(id)).toMatchObject({ status: 'sent', attempts: 1, unknown_outcomes: 0 });
  });

  it('a claim left by a dead worker is an unknown outcome: counted, said, and sent again', async () => {
    const id = await newRow();
    await db('deliveries')
      .where({ id })
      .update({
        status: 'sending',
        claim_id: '6f1c2c5e-1f0e-4d4e-9a59-8a0c1f5d2b11',
        claimed_at: db.raw(`now() - interval '5 minutes'`),
        attempts: 1,
      });
    const m = mailer();
    expect(await sendOnce(db, id, m.prepare)).toMatchObject({ status: 'sent', attempts: 2 });
    expect(m.sent).toHaveLength(1);
    const r = await row(id);
    expect(r).toMatchObject({ status: 'sent', attempts: 2, unknown_outcomes: 1 });
    expect(r.last_error).toBeNull(); // cleared once sent; the count stays
  });

  it('a send in flight elsewhere is waited for, not repeated', async () => {
    const id = await newRow();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const m = mailer(() => gate);
    const first = sendOnce(db, id, m.prepare);
    for (let i = 0; i < 100 && m.sent.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    const other = mailer();
    await expect(sendOnce(db, id, other.prepare)).rejects.toThrow(/may still be in flight; retried later/);
    release();
    await first;
    expect(await sendOnce(db, id, other.prepare)).toMatchObject({ status: 'sent', alreadySent: true });
    expect([m.sent.length, other.sent.length]).toEqual([1, 0]);
  });
});
