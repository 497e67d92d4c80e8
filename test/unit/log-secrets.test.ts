import { maskSecrets } from '../../api/server';

describe("the request log's URLs", () => {
  it('keep the prefix of a shared link, a sign-in link or an invitation, never the secret', () => {
    const token = 'ots_McqE6CadrmbbWJUVxOOPQFOHjtlujCjeao54nNk356g';
    expect(maskSecrets(`/shared/${token}?org=client-a`)).toBe('/shared/ots_…?org=client-a');
    expect(maskSecrets(`/shared/${token}/code`)).toBe('/shared/ots_…/code');
    expect(maskSecrets('/login/otl_hQUT7vLpjM7tiJ1DiC52_1rAPMAZUj9Uk2a62xNT7B8')).toBe('/login/otl_…');
    expect(maskSecrets(`/api/v1/dashboard/public/${token}`)).toBe('/api/v1/dashboard/public/ots_…');
  });

  it('leave every other address as it is', () => {
    for (const url of ['/usage?month=2026-10', '/api/v1/usage/summary?start_month=2026-10', '/shared/ots_x'])
      expect(maskSecrets(url)).toBe(url);
  });
});
