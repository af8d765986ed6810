// The benchmark's peer: panva's oidc-provider configured like Tessera for the same
// load. bench/run.sh installs package.json's pinned versions into target/bench-peer and
// runs this file with NODE_ENV=production. Configuration comes from the environment:
//
//   PEER_PORT, PEER_ISSUER        where to listen (127.0.0.1) and the issuer URL
//   PEER_ALG                      RS256 (RSA 2048) or ES256 (P-256): ID tokens and JWT
//                                 access tokens
//   PEER_ACCOUNTS                 accounts.json from `tessera-bench dataset` (email →
//                                 sub, names, argon2id hash, security profile)
//   PEER_CLIENT_ID, PEER_CLIENT_SECRET, PEER_REDIRECT_URI
//                                 the confidential client (client_secret_basic); a twin
//                                 "<id>-opaque" gets opaque access tokens (see below)
//   PEER_WORKERS                  1: one process with an in-memory store; N > 1: node's
//                                 cluster with N workers sharing a Redis store
//   PEER_REDIS_URL                the Redis server when PEER_WORKERS > 1
//
// Equivalences and differences with Tessera:
// - Access tokens are JWTs (resourceIndicators with a default resource whose format is
//   `jwt`), signed with PEER_ALG, valid 3600 s, carrying the user's security profile
//   (extraTokenClaims), like Tessera's.
// - oidc-provider refuses JWT access tokens at introspection ("structured tokens cannot
//   be introspected") and at userinfo (a token with an audience is not for userinfo).
//   So the introspection and userinfo cases use access tokens of the twin client
//   "<id>-opaque", for which no resource applies: opaque tokens looked up in the store.
// - Refresh tokens are issued whenever the client may refresh, and always rotated, as in
//   Tessera.
// - The login form checks the password with argon2id (@node-rs/argon2, the hash's own
//   parameters: m=19456, t=2, p=1), against a dummy hash for unknown users.
// - PEER_CLIENT_ID is first-party, as the benchmark's client is in Tessera
//   (skip_consent): its grant is made without a consent prompt (loadExistingGrant, the
//   documented way), except for offline_access. Where a consent prompt does come (the
//   pre-minted tokens ask for offline_access with prompt=consent), it is answered
//   automatically.
import cluster from 'node:cluster';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';
import { verify as argon2Verify } from '@node-rs/argon2';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) {
    console.error(`peer: ${name} is required`);
    process.exit(2);
  }
  return value;
};

const PORT = Number(env('PEER_PORT'));
const ISSUER = env('PEER_ISSUER');
const ALG = env('PEER_ALG', 'RS256');
const WORKERS = Number(env('PEER_WORKERS', '1'));
const CLIENT_ID = env('PEER_CLIENT_ID');
const OPAQUE_ID = `${CLIENT_ID}-opaque`;
const RESOURCE = `${ISSUER}/api`;

if (!['RS256', 'ES256'].includes(ALG)) {
  console.error(`peer: PEER_ALG must be RS256 or ES256, not ${ALG}`);
  process.exit(2);
}

// Keys and cookie secrets are made once, by the primary process, and handed to every
// worker, so that all of them sign with the same key and read the same cookies.
if (cluster.isPrimary && !process.env.PEER_SHARED) {
  const { privateKey } = ALG === 'RS256'
    ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = {
    ...privateKey.export({ format: 'jwk' }), kid: `peer-${ALG.toLowerCase()}`, alg: ALG, use: 'sig',
  };
  process.env.PEER_SHARED = JSON.stringify({
    jwk, cookieKey: crypto.randomBytes(32).toString('base64url'),
  });
}

async function serve() {
  const { jwk, cookieKey } = JSON.parse(process.env.PEER_SHARED);
  const accounts = new Map(Object.entries(JSON.parse(fs.readFileSync(env('PEER_ACCOUNTS'), 'utf8'))));
  const bySub = new Map([...accounts.values()].map((a) => [a.sub, a]));
  const dummyHash = [...accounts.values()][0]?.hash;
  const Adapter = WORKERS > 1 ? await redisAdapter(env('PEER_REDIS_URL')) : MemoryAdapter;

  const client = (clientId) => ({
    client_id: clientId,
    client_secret: env('PEER_CLIENT_SECRET'),
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    redirect_uris: [env('PEER_REDIRECT_URI')],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: ALG,
    scope: 'openid profile email offline_access api',
  });

  const provider = new Provider(ISSUER, {
    adapter: Adapter,
    clients: [client(CLIENT_ID), client(OPAQUE_ID)],
    jwks: { keys: [jwk] },
    cookies: { keys: [cookieKey] },
    scopes: ['openid', 'offline_access', 'api'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name'],
    },
    async findAccount(_ctx, sub) {
      const a = bySub.get(sub);
      if (!a) return undefined;
      return {
        accountId: sub,
        async claims() {
          return {
            sub,
            email: a.email,
            email_verified: true,
            name: a.name,
            given_name: a.given_name,
            family_name: a.family_name,
          };
        },
      };
    },
    // The user's security profile in every user access token, as Tessera does.
    async extraTokenClaims(_ctx, token) {
      if (!token.accountId) return undefined;
      const a = bySub.get(token.accountId);
      return a ? { ...a.profile } : undefined;
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, c, oneOf) => oneOf
          ?? (c.clientId === OPAQUE_ID ? undefined : RESOURCE),
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resource) => {
          if (resource !== RESOURCE) throw new errors.InvalidTarget();
          return {
            scope: 'api',
            audience: RESOURCE,
            accessTokenTTL: 3600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: ALG } },
          };
        },
      },
    },
    async issueRefreshToken(_ctx, c) {
      return c.grantTypeAllowed('refresh_token');
    },
    // The first-party client needs no consent for what it may ask, offline_access aside.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      if (ctx.oidc.client.clientId !== CLIENT_ID) return undefined;
      const grant = new ctx.oidc.provider.Grant({
        clientId: CLIENT_ID,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid profile email');
      grant.addResourceScope(RESOURCE, 'api');
      await grant.save();
      return grant;
    },
    rotateRefreshToken: true,
    pkce: { required: () => true },
    ttl: {
      AccessToken: 3600,
      ClientCredentials: 3600,
      AuthorizationCode: 60,
      IdToken: 300,
      RefreshToken: 30 * 24 * 3600,
      Interaction: 600,
      Session: 8 * 3600,
      Grant: 30 * 24 * 3600,
    },
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
  });

  const callback = provider.callback();
  const server = http.createServer((req, res) => {
    if (req.url.startsWith('/interaction/')) {
      interaction(provider, accounts, dummyHash, req, res).catch((err) => {
        console.error('peer: interaction failed:', err);
        if (!res.headersSent) {
          res.statusCode = 500;
          res.end('interaction failed');
        }
      });
      return;
    }
    callback(req, res);
  });
  server.keepAliveTimeout = 65_000;
  server.listen(PORT, '127.0.0.1', () => {
    if (cluster.isWorker) process.send('listening');
    else console.log(`peer: one process on ${ISSUER} (${ALG}, in-memory store)`);
  });
}

const page = (uid, error) => `<!doctype html><html><head><title>Sign in</title></head><body>
<h1>Sign in</h1>${error ? `<p role="alert">${error}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<input type="hidden" name="uid" value="${uid}">
<label>Email <input name="login" type="text" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form></body></html>`;

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      data += chunk;
      if (data.length > 65536) reject(new Error('body too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(data)));
    req.on('error', reject);
  });
}

async function interaction(provider, accounts, dummyHash, req, res) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params } = details;
  if (req.method === 'POST' && req.url === `/interaction/${uid}/login`) {
    const form = await readBody(req);
    const account = accounts.get((form.get('login') ?? '').trim().toLowerCase());
    // Unknown users cost an argon2 run too, as in Tessera.
    const ok = await argon2Verify(account?.hash ?? dummyHash, form.get('password') ?? '');
    if (!ok || !account) {
      res.statusCode = 401;
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(page(uid, 'The email or password is not right.'));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: account.sub } }, {
      mergeWithLastSubmission: false,
    });
    return;
  }
  if (req.method === 'GET' && prompt.name === 'login') {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(page(uid));
    return;
  }
  if (req.method === 'GET' && prompt.name === 'consent') {
    // Auto-consent: grant what is asked.
    const { details: missing } = prompt;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    if (missing.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, {
      mergeWithLastSubmission: true,
    });
    return;
  }
  res.statusCode = 400;
  res.end(`unexpected interaction ${req.method} ${req.url} (${prompt.name})`);
}

// --- stores -------------------------------------------------------------------------

const grantable = new Set([
  'AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest', 'PreAuthorizedCode',
]);
const epoch = () => Math.floor(Date.now() / 1000);

// One process: a Map with expiry (oidc-provider's own memory adapter is an LRU of
// 1,000 entries, too small for the token pools of the benchmark).
const memory = new Map();
const memoryIndex = new Map(); // uid:…, userCode:…, grant:… → keys
setInterval(() => {
  const now = Date.now();
  for (const [key, entry] of memory) if (entry.expiresAt <= now) memory.delete(key);
}, 60_000).unref();

class MemoryAdapter {
  constructor(name) { this.name = name; }

  key(id) { return `${this.name}:${id}`; }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : Infinity;
    memory.set(key, { payload: { ...payload }, expiresAt });
    if (grantable.has(this.name) && payload.grantId) {
      const g = `grant:${payload.grantId}`;
      const members = memoryIndex.get(g) ?? [];
      members.push(key);
      memoryIndex.set(g, members);
    }
    if (payload.uid) memoryIndex.set(`uid:${payload.uid}`, id);
    if (payload.userCode) memoryIndex.set(`userCode:${payload.userCode}`, id);
  }

  async find(id) {
    const key = this.key(id);
    const entry = memory.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      memory.delete(key);
      return undefined;
    }
    return { ...entry.payload };
  }

  async findByUid(uid) {
    const id = memoryIndex.get(`uid:${uid}`);
    return id ? this.find(id) : undefined;
  }

  async findByUserCode(userCode) {
    const id = memoryIndex.get(`userCode:${userCode}`);
    return id ? this.find(id) : undefined;
  }

  async consume(id) {
    const entry = memory.get(this.key(id));
    if (entry) entry.payload.consumed = epoch();
  }

  async destroy(id) { memory.delete(this.key(id)); }

  async revokeByGrantId(grantId) {
    const g = `grant:${grantId}`;
    for (const key of memoryIndex.get(g) ?? []) memory.delete(key);
    memoryIndex.delete(g);
  }
}

// Several workers: Redis (the shape of oidc-provider's example Redis adapter).
async function redisAdapter(url) {
  const { default: Redis } = await import('ioredis');
  const redis = new Redis(url, { keyPrefix: 'oidc:', enableAutoPipelining: true });
  const consumable = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode',
    'BackchannelAuthenticationRequest', 'PreAuthorizedCode']);
  return class RedisAdapter {
    constructor(name) { this.name = name; }

    key(id) { return `${this.name}:${id}`; }

    async upsert(id, payload, expiresIn) {
      const key = this.key(id);
      const multi = redis.multi();
      if (consumable.has(this.name)) {
        multi.hset(key, { payload: JSON.stringify(payload) });
      } else {
        multi.set(key, JSON.stringify(payload));
      }
      if (expiresIn) multi.expire(key, expiresIn);
      if (grantable.has(this.name) && payload.grantId) {
        const grantKey = `grant:${payload.grantId}`;
        multi.rpush(grantKey, key);
        const ttl = await redis.ttl(grantKey);
        if (expiresIn > ttl) multi.expire(grantKey, expiresIn);
      }
      if (payload.userCode) {
        multi.set(`userCode:${payload.userCode}`, id);
        if (expiresIn) multi.expire(`userCode:${payload.userCode}`, expiresIn);
      }
      if (payload.uid) {
        multi.set(`uid:${payload.uid}`, id);
        if (expiresIn) multi.expire(`uid:${payload.uid}`, expiresIn);
      }
      await multi.exec();
    }

    async find(id) {
      const key = this.key(id);
      const data = consumable.has(this.name) ? await redis.hgetall(key) : await redis.get(key);
      if (!data || (typeof data === 'object' && Object.keys(data).length === 0)) return undefined;
      if (typeof data === 'string') return JSON.parse(data);
      const { payload, ...rest } = data;
      return { ...rest, ...JSON.parse(payload) };
    }

    async findByUid(uid) {
      const id = await redis.get(`uid:${uid}`);
      return id ? this.find(id) : undefined;
    }

    async findByUserCode(userCode) {
      const id = await redis.get(`userCode:${userCode}`);
      return id ? this.find(id) : undefined;
    }

    async consume(id) { await redis.hset(this.key(id), 'consumed', epoch()); }

    async destroy(id) { await redis.del(this.key(id)); }

    async revokeByGrantId(grantId) {
      const grantKey = `grant:${grantId}`;
      const keys = await redis.lrange(grantKey, 0, -1);
      const multi = redis.multi();
      // The list holds prefixed-less keys; ioredis adds the prefix.
      for (const k of keys) multi.del(k);
      multi.del(grantKey);
      await multi.exec();
    }
  };
}

// --- start ---------------------------------------------------------------------------

if (cluster.isPrimary && WORKERS > 1) {
  for (let i = 0; i < WORKERS; i += 1) cluster.fork();
  let ready = 0;
  cluster.on('message', (_worker, message) => {
    if (message === 'listening') {
      ready += 1;
      if (ready === WORKERS) console.log(`peer: ${WORKERS} workers on ${ISSUER} (${ALG}, redis store)`);
    }
  });
  cluster.on('exit', (worker, code) => {
    console.error(`peer: worker ${worker.process.pid} exited (${code}); stopping`);
    process.exit(1);
  });
  const stop = () => {
    for (const w of Object.values(cluster.workers)) w.kill();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  await serve();
}
