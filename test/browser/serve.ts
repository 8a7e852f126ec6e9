// By hand: `npm run browser-demo`, then open the printed address. It serves the page only; start
// the services yourself with this page's origin allowed, for example
//   CORS_ORIGINS=http://127.0.0.1:5173 OTP_DELIVERY=log npm start
// (the code then appears in the auth service's log). AUTH_URL, USER_URL and PAGE_PORT override
// the defaults below.
import { buildPage } from "./build.js";
import { startStaticServer } from "./static-server.js";

const config = {
  authUrl: process.env.AUTH_URL ?? "http://127.0.0.1:50051",
  userUrl: process.env.USER_URL ?? "http://127.0.0.1:50052",
};
const server = await startStaticServer({
  files: await buildPage(),
  config: () => config,
  port: Number(process.env.PAGE_PORT ?? 5173),
});
console.log(`sign-in page at ${server.origin} (AuthService ${config.authUrl}, UserService ${config.userUrl})`);
console.log(`the services need CORS_ORIGINS=${server.origin}`);
