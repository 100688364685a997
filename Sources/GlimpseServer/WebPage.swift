/// The page `glimpse serve` shows at /: search the photo library by text (a grid of
/// thumbnails, best first; click one for similar photos), drop a photo to search by it, and
/// caption, classify or detect in the dropped photo (boxes drawn on it). Plain HTML and
/// JavaScript against the JSON API, no build step and nothing fetched from elsewhere.
enum WebPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Glimpse</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
  header { padding: 12px 20px; background: #1f77b4; color: white; font-weight: 600; }
  main { padding: 16px 20px; display: grid; grid-template-columns: minmax(280px, 560px) 1fr; gap: 20px; }
  #drop { border: 2px dashed #999; border-radius: 8px; min-height: 240px; display: flex; align-items: center;
          justify-content: center; position: relative; background: white; }
  #drop.over { border-color: #1f77b4; background: #eef5fb; }
  #drop canvas { max-width: 100%; display: block; }
  .row { margin: 10px 0; display: flex; gap: 8px; }
  input[type=text] { flex: 1; padding: 6px 8px; font: inherit; }
  button { padding: 6px 12px; font: inherit; cursor: pointer; }
  #results li { margin: 4px 0; }
  .error { color: #b00; }
  #searchbar { padding: 12px 20px 0; display: flex; gap: 8px; }
  #status { padding: 8px 20px 0; }
  #grid { padding: 12px 20px; display: grid; grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); gap: 10px; }
  #grid figure { margin: 0; background: white; border-radius: 6px; overflow: hidden; cursor: pointer; box-shadow: 0 1px 3px #0002; }
  #grid img { width: 100%; height: 120px; object-fit: cover; display: block; }
  #grid figcaption { font-size: 12px; padding: 4px 6px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
</style>
</head>
<body>
<header>Glimpse</header>
<form id="searchbar"><input id="q" type="text" placeholder="search your photos: a dog on a beach" autocomplete="off"><select id="mode" hidden title="How results are ranked (the library has captions)"><option value="semantic">by meaning</option><option value="hybrid">meaning and caption words</option><option value="keyword">caption words</option></select><button id="go">Search</button></form>
<div id="status"></div>
<div id="grid" data-testid="grid"></div>
<main>
  <section>
    <div id="drop" data-testid="drop"><span id="hint">Drop a photo here, or <label><u>choose one</u><input id="file" type="file" accept="image/jpeg,image/png" hidden></label></span><canvas id="canvas" hidden></canvas></div>
    <div class="row"><button id="caption">Caption</button></div>
    <div class="row"><input id="labels" type="text" placeholder="labels, comma separated: cat, dog, coffee cup"><button id="classify">Classify</button></div>
    <div class="row"><input id="queries" type="text" placeholder="find, comma separated: a cat, a cup"><button id="detect">Detect</button></div>
  </section>
  <section><h3 id="title">Results</h3><ul id="results"></ul></section>
</main>
<script>
let photo = null, bitmap = null;
// A server started with --token: open the page as http://HOST:PORT/#token=TOKEN.
const token = new URLSearchParams(location.hash.slice(1)).get("token");
const headers = token ? { Authorization: "Bearer " + token } : {};
const $ = id => document.getElementById(id);
const list = s => s.split(",").map(x => x.trim()).filter(Boolean);
function show(title, items, error) {
  $("title").textContent = title;
  $("results").innerHTML = "";
  for (const text of items) { const li = document.createElement("li"); li.textContent = text; if (error) li.className = "error"; $("results").append(li); }
}
async function call(path, params) {
  if (!photo) { show("No photo", ["Drop or choose a photo first."], true); return null; }
  const query = new URLSearchParams(params || []).toString();
  const reply = await fetch(path + (query ? "?" + query : ""), { method: "POST", body: photo, headers });
  const body = await reply.json();
  if (!reply.ok) { show("Error " + reply.status, [body.error], true); return null; }
  return body;
}
async function load(file) {
  photo = file;
  bitmap = await createImageBitmap(file);
  draw([]);
  $("hint").hidden = true;
  const r = await fetch("/api/search?" + new URLSearchParams([["top", "40"], ...($("q").value.trim() ? [["q", $("q").value.trim()]] : [])]),
                        { method: "POST", body: file, headers });
  if (r.status !== 404) grid(await r.json(), r.ok, "Photos like the one you dropped");
}
function grid(body, ok, title) {
  const g = $("grid"); g.innerHTML = "";
  if (!ok) { $("status").textContent = body.error; $("status").className = "error"; return; }
  $("status").textContent = title + ": " + body.results.length; $("status").className = "";
  for (const hit of body.results) {
    const f = document.createElement("figure");
    f.dataset.id = hit.id; f.dataset.path = hit.path; f.title = hit.path + " (" + hit.score.toFixed(3) + ")";
    // A captioned library's results carry their caption: show it, and offer keyword and hybrid ranking.
    if (typeof hit.caption === "string") { f.title += "\n" + hit.caption; $("mode").hidden = false; }
    const img = document.createElement("img"); img.loading = "lazy"; img.alt = hit.path;
    thumbnail(img, hit.id);
    const c = document.createElement("figcaption"); c.textContent = hit.path.split("/").pop();
    f.append(img, c); f.onclick = () => similar(hit.id, hit.path); g.append(f);
  }
}
async function thumbnail(img, id) {
  // Through fetch, so a server with a token gets its Authorization header.
  const r = await fetch("/api/thumbnails/" + id, { headers });
  if (r.ok) img.src = URL.createObjectURL(await r.blob());
}
async function search(q) {
  const mode = $("mode").hidden ? [] : [["mode", $("mode").value]];
  const r = await fetch("/api/search?" + new URLSearchParams([["q", q], ["top", "40"], ...mode]), { headers });
  grid(await r.json(), r.ok, "Results for “" + q + "”");
}
async function similar(id, path) {
  const r = await fetch("/api/similar/" + id + "?top=40", { headers });
  grid(await r.json(), r.ok, "Like " + path.split("/").pop());
}
$("searchbar").onsubmit = e => { e.preventDefault(); if ($("q").value.trim()) search($("q").value.trim()); };
function draw(boxes) {
  const c = $("canvas"); c.hidden = false; c.width = bitmap.width; c.height = bitmap.height;
  const g = c.getContext("2d"); g.drawImage(bitmap, 0, 0);
  g.lineWidth = Math.max(2, bitmap.width / 300); g.font = Math.max(12, bitmap.width / 40) + "px sans-serif";
  for (const d of boxes) {
    const [x1, y1, x2, y2] = d.box;
    g.strokeStyle = "#ff7f0e"; g.strokeRect(x1, y1, x2 - x1, y2 - y1);
    g.fillStyle = "#ff7f0e"; g.fillText(d.label + " " + d.score.toFixed(2), x1 + 3, Math.max(y1 - 4, 14));
  }
}
document.body.ondragover = e => e.preventDefault();
document.body.ondrop = e => { e.preventDefault(); if (e.dataTransfer.files[0]) load(e.dataTransfer.files[0]); };
$("file").onchange = e => e.target.files[0] && load(e.target.files[0]);
const drop = $("drop");
drop.ondragover = e => { e.preventDefault(); drop.classList.add("over"); };
drop.ondragleave = () => drop.classList.remove("over");
drop.ondrop = e => { e.preventDefault(); e.stopPropagation(); drop.classList.remove("over"); if (e.dataTransfer.files[0]) load(e.dataTransfer.files[0]); };
$("caption").onclick = async () => { const r = await call("/api/caption"); if (r) show("Captions", r.captions.map(c => c.text)); };
$("classify").onclick = async () => {
  const r = await call("/api/classify", list($("labels").value).map(l => ["label", l]));
  if (r) show("Labels", r.labels.map(l => l.label + " — " + (100 * l.probability).toFixed(1) + " %"));
};
$("detect").onclick = async () => {
  const r = await call("/api/detect", list($("queries").value).map(q => ["query", q]));
  if (r) { draw(r.detections); show("Found " + r.detections.length, r.detections.map(d => d.label + " " + d.score.toFixed(2) + " at [" + d.box.map(Math.round).join(", ") + "]")); }
};
</script>
</body>
</html>
"""#
}
