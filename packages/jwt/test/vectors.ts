// Independent vectors: an RSA key made with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`,
// tokens built by a Python script (json + base64), RS256 signed with `openssl dgst -sha256 -sign`,
// HS256 with Python's hmac/hashlib. The private key is not kept. All share these claims:
// {"sub":"device-42","iss":"https://idp.test","aud":"mqtt","iat":1700000000,"exp":1700003600,"roles":["sensor"],"site":"lyon"}

/** A time inside the vectors' validity window (iat + 10 min), in ms. */
export const VECTOR_NOW = 1_700_000_600_000;

export const RSA_PUBLIC_PEM = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtr6RZhMF8KOo1Rkyh+e3
9PjUPzu/Ops6l20TU1IRq4wBVm0Y3B6LNxvike8WR8v/0n69Atu5F6jeA/Ece3eo
oOrv1vghs4yG0ZLkw+UXc3Sb4CPE5l4C4DD7/QQMiF+KjkHuLqfC7Udx+NfgDtyY
n2pYHj39JifhomgGxpsdEaM84uwDzhsROjQnXYXZ/MeOwS2vNszCr+LXsR58C/uV
lLvXVnQ7CmPioH3x1pl1mX8bz384yEQRQve/woNmnCv2J3HcxNif4iyztiu/JXTR
HpuZ5YrntGZYR3r3uNuV89NBfSnN8V1OFAv7jUpuAEnnSoN4zBEoZvtPKViNA0Ya
sQIDAQAB
-----END PUBLIC KEY-----
`;

/** 32 ASCII bytes. */
export const HMAC_SECRET = '0123456789abcdef0123456789abcdef';

export const RS256_TOKEN =
  'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkZXZpY2UtNDIiLCJpc3MiOiJodHRwczovL2lkcC50ZXN0IiwiYXVkIjoibXF0dCIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAzNjAwLCJyb2xlcyI6WyJzZW5zb3IiXSwic2l0ZSI6Imx5b24ifQ.VSWYp3HASHzNkvGM9mhbkf8Pq-YuFx5gbTh_xo-O6f9JGQRn-w1odT3FzIfaZIkS2BUCBFmemeah8sIqBtZy_p740B6iEUV5l7VQoXxVRLIKPzTLqnz2pW4aWUMNxzkD6R0iaarI45_Yz2cV9l1mu9RyUpAj-yyK633o6A-klyAzS1XJRyYNAlrLfOh-TwfVAPB-JeNLrMuq-1im2CKn_CrrCV-8US3ZH2Aba-hQyjMair_-DK8BlMZ-Nh3L5OaeFGCF8JFIP2vAFM-bN-hXYYpUBZD0oC0TWW1Y1RsuS6AxvoyA0k9vRZ7abk3zfxMVHgmVpSE0aWRzxquXPSDqUg';

export const HS256_TOKEN =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkZXZpY2UtNDIiLCJpc3MiOiJodHRwczovL2lkcC50ZXN0IiwiYXVkIjoibXF0dCIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAzNjAwLCJyb2xlcyI6WyJzZW5zb3IiXSwic2l0ZSI6Imx5b24ifQ.bB1qZxLvbaRyPsznprNLhC1aiet111CIcQl_-6LvVes';

/** `{"alg":"none"}` with an empty signature. */
export const NONE_TOKEN =
  'eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJkZXZpY2UtNDIiLCJpc3MiOiJodHRwczovL2lkcC50ZXN0IiwiYXVkIjoibXF0dCIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAzNjAwLCJyb2xlcyI6WyJzZW5zb3IiXSwic2l0ZSI6Imx5b24ifQ.';

/** HS256 whose HMAC key is the RSA public key PEM text (the algorithm-confusion attack). */
export const HS256_WITH_PUBLIC_KEY_TOKEN =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkZXZpY2UtNDIiLCJpc3MiOiJodHRwczovL2lkcC50ZXN0IiwiYXVkIjoibXF0dCIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAzNjAwLCJyb2xlcyI6WyJzZW5zb3IiXSwic2l0ZSI6Imx5b24ifQ.SZ3h3FITcBqVlEpcHkMgVk_qPfYsfL1zbkITeGPKf2o';
