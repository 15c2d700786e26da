import json, urllib.request, base64, time, sys
import os
SHOTS = os.environ.get("SHOTS", "/tmp/fanout-ui-probe")
BASE = os.environ.get("WD", "http://127.0.0.1:4444")
def req(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    r = urllib.request.Request(BASE + path, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(r, timeout=120) as f: return json.load(f)["value"]
    except urllib.error.HTTPError as e:
        raise RuntimeError(e.read().decode()[:500])
class S:
    def __init__(self, w=1280, h=800):
        caps = {"capabilities": {"alwaysMatch": {"webkitgtk:browserOptions": {"binary": "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser", "args": ["--automation"]}}}}
        self.id = req("POST", "/session", caps)["sessionId"]
        self.p = f"/session/{self.id}"
        try: req("POST", self.p + "/window/rect", {"width": w, "height": h, "x": 0, "y": 0})
        except Exception as e: print("rect", e)
    def get(self, url): req("POST", self.p + "/url", {"url": url})
    def js(self, script, *args): return req("POST", self.p + "/execute/sync", {"script": script, "args": list(args)})
    def find(self, css):
        return [list(e.values())[0] for e in req("POST", self.p + "/elements", {"using": "css selector", "value": css})]
    def click(self, css, i=0):
        els = self.find(css)
        if not els: raise RuntimeError("no element " + css)
        req("POST", f"{self.p}/element/{els[i]}/click", {})
    def type(self, css, text, i=0):
        els = self.find(css); req("POST", f"{self.p}/element/{els[i]}/value", {"text": text})
    def text(self, css, i=0):
        els = self.find(css); return req("GET", f"{self.p}/element/{els[i]}/text")
    def shot(self, name):
        os.makedirs(SHOTS, exist_ok=True); open(f"{SHOTS}/{name}.png", "wb").write(base64.b64decode(req("GET", self.p + "/screenshot")))
    def keys(self, css, keys, i=0):
        els = self.find(css); req("POST", f"{self.p}/element/{els[i]}/value", {"text": keys})
    def wait(self, css, t=5):
        end = time.time() + t
        while time.time() < end:
            if self.find(css): return True
            time.sleep(0.1)
        raise RuntimeError("timeout waiting " + css)
    def quit(self): req("DELETE", self.p)
