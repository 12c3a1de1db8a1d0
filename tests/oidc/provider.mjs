// The OpenID provider of the sign-on tests (tests/test_signon_oidc.py): oidc-provider on
// 127.0.0.1:PORT with its own login and consent pages (devInteractions), the clients and
// accounts given as JSON in OIDC_CLIENTS and OIDC_ACCOUNTS.  PKCE is required.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const clients = JSON.parse(process.env.OIDC_CLIENTS);
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS);

const provider = new Provider(issuer, {
  clients,
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username', 'roles', 'employee_number'],
    email: ['email'],
    phone: ['phone_number'],
  },
  conformIdTokenClaims: false, // the id token carries the scopes' claims (the role claim too)
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['gridcare-test-cookie-key'] },
  async findAccount(ctx, id) {
    if (!accounts[id]) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...accounts[id] }; } };
  },
});
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
