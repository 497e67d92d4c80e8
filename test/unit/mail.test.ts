import { mailDomain } from '../../activities';
import { messageIdFor } from '../../db/deliveries';
import { classifySmtpError } from '../../infra/mail';

describe('SMTP failures', () => {
  it('a 5xx answer is permanent, a 4xx answer or a refused connection is transient', () => {
    const e550 = classifySmtpError({ responseCode: 550, response: '550 mailbox unavailable' });
    expect([e550.permanent, e550.message]).toEqual([true, 'SMTP 550: 550 mailbox unavailable']);
    expect(classifySmtpError({ responseCode: 421, response: '421 try later' }).permanent).toBe(false);
    expect(classifySmtpError({ responseCode: 452, response: '452 mailbox full' }).permanent).toBe(false);
    const refused = classifySmtpError({ code: 'ESOCKET', message: 'connect ECONNREFUSED 127.0.0.1:2525' });
    expect([refused.permanent, refused.message]).toEqual([
      false,
      'ESOCKET: connect ECONNREFUSED 127.0.0.1:2525',
    ]);
  });
});

describe('Message-IDs', () => {
  it('are the same for the same ledger key and differ per recipient and version', () => {
    const a = messageIdFor('month-end/acme/2026-10/v1/cfo@acme.example', 'orgtally.test');
    expect(a).toMatch(/^<[0-9a-f]{32}@orgtally\.test>$/);
    expect(messageIdFor('month-end/acme/2026-10/v1/cfo@acme.example', 'orgtally.test')).toBe(a);
    expect(messageIdFor('month-end/acme/2026-10/v2/cfo@acme.example', 'orgtally.test')).not.toBe(a);
  });
  it('take the domain of the From address', () => {
    expect(mailDomain('orgtally <billing@example.com>')).toBe('example.com');
    expect(mailDomain('billing@example.com')).toBe('example.com');
    expect(mailDomain('no address')).toBe('orgtally.localhost');
  });
});
