import { MAX_TAG_LENGTH, normalizeTag, normalizeTagSet, splitTagField, tagKeyValue } from '../../domain/tags';

describe('normalizeTag', () => {
  it('lower-cases keys and values', () => {
    expect(normalizeTag('Team:Web')).toEqual({ ok: true, tag: 'team:web' });
    expect(normalizeTag('ENV:PROD')).toEqual({ ok: true, tag: 'env:prod' });
  });

  it('replaces disallowed characters with _', () => {
    expect(normalizeTag('team:front end')).toEqual({ ok: true, tag: 'team:front_end' });
    expect(normalizeTag('env:prod!@#')).toEqual({ ok: true, tag: 'env:prod___' });
    expect(normalizeTag('cost center:a&b')).toEqual({ ok: true, tag: 'cost_center:a_b' });
    expect(normalizeTag('team:a\tb')).toEqual({ ok: true, tag: 'team:a_b' });
  });

  it('keeps letters, digits and _ - : . /', () => {
    expect(normalizeTag('service:api.v2/web-1_x')).toEqual({ ok: true, tag: 'service:api.v2/web-1_x' });
    expect(normalizeTag('url:http://x.example/a')).toEqual({ ok: true, tag: 'url:http://x.example/a' });
  });

  it('splits at the first colon only (later colons belong to the value)', () => {
    expect(normalizeTag('a:b:c')).toEqual({ ok: true, tag: 'a:b:c' });
  });

  it('keeps unicode letters and lower-cases them', () => {
    expect(normalizeTag('Équipe:Café')).toEqual({ ok: true, tag: 'équipe:café' });
    expect(normalizeTag('команда:Разработка')).toEqual({ ok: true, tag: 'команда:разработка' });
    expect(normalizeTag('チーム:開発')).toEqual({ ok: true, tag: 'チーム:開発' });
  });

  it('replaces a non-letter symbol outside the BMP (emoji) with a single _', () => {
    expect(normalizeTag('team:🚀')).toEqual({ ok: true, tag: 'team:_' });
  });

  it('trims surrounding whitespace', () => {
    expect(normalizeTag('  team:web  ')).toEqual({ ok: true, tag: 'team:web' });
  });

  it('treats `team` and `team:` as the same tag (key present, empty value)', () => {
    expect(normalizeTag('team')).toEqual({ ok: true, tag: 'team:' });
    expect(normalizeTag('team:')).toEqual({ ok: true, tag: 'team:' });
    expect(normalizeTag('TEAM')).toEqual({ ok: true, tag: 'team:' });
  });

  it('accepts a value that starts with a digit', () => {
    expect(normalizeTag('version:1.2.3')).toEqual({ ok: true, tag: 'version:1.2.3' });
  });

  it('truncates to 200 characters', () => {
    expect(MAX_TAG_LENGTH).toBe(200);
    const r = normalizeTag('team:' + 'x'.repeat(300));
    expect(r).toEqual({ ok: true, tag: 'team:' + 'x'.repeat(195) });
    if (r.ok) expect(r.tag).toHaveLength(200);
  });

  it('truncates after replacing disallowed characters', () => {
    expect(normalizeTag('team:' + '!'.repeat(300))).toEqual({ ok: true, tag: 'team:' + '_'.repeat(195) });
  });

  it('a long tag without value keeps its colon within 200 characters', () => {
    expect(normalizeTag('a'.repeat(250))).toEqual({ ok: true, tag: `${'a'.repeat(199)}:` });
  });

  it('keeps a tag of exactly 200 characters unchanged, cuts one of 201', () => {
    const exact = 'k:' + 'v'.repeat(198);
    expect(normalizeTag(exact)).toEqual({ ok: true, tag: exact });
    expect(normalizeTag('k:' + 'v'.repeat(199))).toEqual({ ok: true, tag: exact });
  });

  it('rejects an empty or blank tag', () => {
    expect(normalizeTag('')).toEqual({ ok: false, detail: 'empty tag' });
    expect(normalizeTag('   ')).toEqual({ ok: false, detail: 'empty tag' });
  });

  it('rejects a tag with an empty key', () => {
    expect(normalizeTag(':x')).toEqual({ ok: false, detail: 'tag ":x" has no key' });
    expect(normalizeTag(':')).toMatchObject({ ok: false });
  });

  it('rejects a key that does not start with a letter', () => {
    expect(normalizeTag('1team:x')).toEqual({
      ok: false,
      detail: 'tag key "1team" must start with a letter',
    });
    expect(normalizeTag('_team:x')).toEqual({
      ok: false,
      detail: 'tag key "_team" must start with a letter',
    });
    expect(normalizeTag('-x')).toMatchObject({ ok: false });
  });
});

describe('normalizeTagSet', () => {
  it('normalizes, deduplicates and sorts', () => {
    expect(normalizeTagSet(['team:web', 'Env:Prod', 'TEAM:web', 'env:prod'])).toEqual({
      ok: true,
      tags: ['env:prod', 'team:web'],
    });
    expect(normalizeTagSet(['zeta:1', 'alpha:2', 'mid:3'])).toEqual({
      ok: true,
      tags: ['alpha:2', 'mid:3', 'zeta:1'],
    });
  });

  it('dedupes `team` and `team:`', () => {
    expect(normalizeTagSet(['team', 'team:'])).toEqual({ ok: true, tags: ['team:'] });
  });

  it('keeps several values of the same key', () => {
    expect(normalizeTagSet(['team:b', 'team:a'])).toEqual({ ok: true, tags: ['team:a', 'team:b'] });
  });

  it('gives the same canonical form for equal sets written differently', () => {
    const a = normalizeTagSet(['Service:API', 'env:prod']);
    const b = normalizeTagSet(['ENV:prod', 'service:api', 'service:api']);
    expect(a).toEqual({ ok: true, tags: ['env:prod', 'service:api'] });
    expect(b).toEqual(a);
  });

  it('accepts the empty set', () => {
    expect(normalizeTagSet([])).toEqual({ ok: true, tags: [] });
  });

  it('rejects a non-string element', () => {
    expect(normalizeTagSet(['team:web', 42])).toEqual({ ok: false, detail: 'tag 42 is not a string' });
    expect(normalizeTagSet([null])).toEqual({ ok: false, detail: 'tag null is not a string' });
    expect(normalizeTagSet([{ team: 'web' }])).toMatchObject({ ok: false });
  });

  it('rejects the set when one tag is invalid', () => {
    expect(normalizeTagSet(['team:web', ':x'])).toEqual({ ok: false, detail: 'tag ":x" has no key' });
    expect(normalizeTagSet(['team:web', ''])).toEqual({ ok: false, detail: 'empty tag' });
  });
});

describe('splitTagField', () => {
  it('returns an empty set for an empty or blank field', () => {
    expect(splitTagField('')).toEqual([]);
    expect(splitTagField('   ')).toEqual([]);
  });

  it('splits on commas', () => {
    expect(splitTagField('team:web')).toEqual(['team:web']);
    expect(splitTagField('team:web,env:prod')).toEqual(['team:web', 'env:prod']);
  });

  it('combined with normalizeTagSet, tolerates spaces around commas', () => {
    expect(normalizeTagSet(splitTagField('Team:Web, env:prod'))).toEqual({
      ok: true,
      tags: ['env:prod', 'team:web'],
    });
  });
});

describe('tagKeyValue', () => {
  it('splits a normalized tag at the first colon', () => {
    expect(tagKeyValue('team:web')).toEqual({ key: 'team', value: 'web' });
    expect(tagKeyValue('team:')).toEqual({ key: 'team', value: '' });
    expect(tagKeyValue('url:http://x')).toEqual({ key: 'url', value: 'http://x' });
  });
});
