import http.server, os, sys
DIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dist")
CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-src 'none'"
class H(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k): super().__init__(*a, directory=DIST, **k)
    def end_headers(self):
        self.send_header("Content-Security-Policy", CSP); self.send_header("Cache-Control", "no-store"); super().end_headers()
    def do_GET(self):
        if self.path == "/mock.js":
            body = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "mock.js"), "rb").read()
            self.send_response(200); self.send_header("Content-Type", "text/javascript"); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body); return
        if self.path in ("/", "/index.html"):
            html = open(os.path.join(DIST, "index.html")).read().replace("<head>", '<head><script src="/mock.js"></script>', 1).encode()
            self.send_response(200); self.send_header("Content-Type", "text/html"); self.send_header("Content-Length", str(len(html))); self.end_headers(); self.wfile.write(html); return
        return super().do_GET()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", 8765), H).serve_forever()
