#[allow(dead_code)]
#[path = "e2e/git.rs"]
mod git;
#[allow(dead_code)]
#[path = "e2e/harness.rs"]
mod harness;
use harness::App;

const RAF: &str = r#"
const mode = arguments[0];
const done = arguments[arguments.length - 1];
const gaps = [], lays = [];
let last = performance.now();
let v = document.getElementById('pv'); if (v) v.remove();
v = document.createElement('div'); v.id = 'pv';
v.style.cssText = 'position:fixed;inset:0;overflow:auto;background:#fff;z-index:99';
const sizer = document.createElement('div'); sizer.style.height = '1333360px'; sizer.style.position='relative';
if (mode.includes('maxc')) sizer.style.width = 'max-content';
const win = document.createElement('div'); sizer.appendChild(win); v.appendChild(sizer); document.body.appendChild(v);
const rowHtml = (i) => `<div class="line ${i%3?'context':'added'} mono" style="height:20px;line-height:20px;white-space:pre"><span class="num" style="display:inline-block;width:6ch">${i}</span><span class="sign" style="display:inline-block;width:2ch">+</span><span class="text">    <span class="t-kw">let</span> value_${i} = compute(<span class="t-num">${i}</span>, <span class="t-str">"plain text number ${i}"</span>); <span class="t-com">// step ${i}</span></span></div>`;
let n = 0;
const step = () => {
  const now = performance.now(); gaps.push(now - last); last = now;
  n++;
  v.scrollTop = (v.scrollTop + 4000) % 1300000;
  const first = Math.floor(v.scrollTop / 20);
  win.style.transform = `translateY(${first*20}px)`;
  const t2 = performance.now();
  if (mode.includes('html')) win.innerHTML = Array.from({length: 50}, (_, k) => `<div class="vrow" style="height:20px;overflow:hidden">${rowHtml(first+k)}</div>`).join('');
  if (mode.includes('empty')) win.innerHTML = Array.from({length: 50}, (_, k) => `<div class="vrow" style="height:20px;overflow:hidden"><div class="line"></div></div>`).join('');
  void v.scrollHeight; lays.push(performance.now() - t2);
  if (n < 80) requestAnimationFrame(step); else { gaps.sort((a,b)=>a-b); lays.sort((a,b)=>a-b); v.remove(); done([gaps[40], gaps[72], gaps[79], lays[40], lays[79]]); }
};
requestAnimationFrame(step);
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn probe() {
    let bin = std::env::var("FANOUT_BENCH_APP").unwrap();
    let mode = std::env::var("PROBE_COMP").unwrap_or("1".into());
    let app = App::start_with_env(&bin, &[("WEBKIT_DISABLE_COMPOSITING_MODE", &mode)]).await;
    for m in ["none", "empty", "html", "empty", "html"] {
        let v = app
            .client
            .execute_async(RAF, vec![serde_json::Value::String(m.into())])
            .await
            .unwrap();
        eprintln!("{m}: gaps p50/p90/max, layout p50/max {v}");
    }
    app.close().await;
}
