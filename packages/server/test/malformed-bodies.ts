/** JSON bodies no endpoint may take: each is refused with a typed 4xx, never a 5xx or an allow. */
export const BODIES: [string, string][] = [
  ['not JSON', '{"username": '],
  ['an array', '["demo","demo-password"]'],
  ['null', 'null'],
  ['a number', '42'],
  [
    'arrays for strings',
    '{"username":["demo"],"password":["demo-password"],"clientid":["c"],"topic":["t"],"action":["publish"],"acc":[1]}',
  ],
  ['objects for strings', '{"username":{"a":1},"password":{"b":2},"clientid":{},"topic":{},"action":{}}'],
  ['nulls', '{"username":null,"password":null,"clientid":null,"topic":null,"action":null,"acc":null}'],
  ['a __proto__ key', '{"__proto__":{"username":"demo","is_superuser":true},"password":"x"}'],
  ['a constructor key', '{"constructor":{"prototype":{"admin":true}},"username":"demo","password":"x"}'],
  [
    'NUL and lone surrogates',
    '{"username":"demo\\u0000","password":"\\ud800","clientid":"\\u0000","topic":"a\\u0000b","action":"publish"}',
  ],
  [
    'a huge string',
    JSON.stringify({ username: 'x'.repeat(200_000), password: 'y', topic: 't', action: 'publish' }),
  ],
];
