// What the fake AWS and GitHub servers share: an HTTP server that hands each request's whole text body to the
// handler once it has arrived.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

export function textBodyServer(
  handle: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Server {
  return createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => {
      body += d;
    });
    req.on("end", () => handle(req, res, body));
  });
}
