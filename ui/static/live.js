// Live view of the status page: follows the deploy stream and shows each
// step of a running deploy as it is journaled; when a deploy finishes it
// re-reads the page and replaces that workload's section. Everything else
// on the page works without JavaScript.
(function () {
  "use strict";
  if (!window.EventSource || !window.fetch || !window.DOMParser) return;
  var dot = document.getElementById("live-state");
  var last = {}; // workload -> last event, redrawn into a refreshed section
  var done = {}; // deploy id -> finished: its later steps (the background drain) change nothing shown

  function fmt(ns) {
    var ms = ns / 1e6;
    if (ms < 1) return "<1ms";
    if (ms < 1000) return Math.round(ms) + "ms";
    return (ms / 1000).toFixed(1) + "s";
  }

  function draw(ev) {
    var box = document.getElementById("live-" + ev.workload);
    if (!box) return;
    box.hidden = false;
    box.className = "live" + (ev.type === "finished" ? (ev.succeeded ? " ok" : " bad") : "");
    box.setAttribute("data-deploy", ev.deploy);
    box.setAttribute("data-tag", ev.tag || "");
    box.setAttribute("data-state", ev.type === "finished" ? (ev.succeeded ? "succeeded" : "failed") : "running");
    box.textContent = "";
    var title = document.createElement("div");
    title.className = "title";
    title.textContent = (ev.type === "finished" ? ev.outcome + ": " : "deploying ") + ev.image +
      (ev.digest ? " (" + ev.digest.slice(0, 19) + ")" : "");
    box.appendChild(title);
    var list = document.createElement("ol");
    (ev.steps || []).forEach(function (st) {
      var li = document.createElement("li");
      li.setAttribute("data-step", st.step);
      li.textContent = st.step;
      var took = document.createElement("em");
      took.textContent = fmt(st.took || 0);
      li.appendChild(took);
      if (st.note) li.title = st.note;
      list.appendChild(li);
    });
    box.appendChild(list);
  }

  function refresh(name) {
    fetch("/ui/", { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.getElementById("w-" + name), cur = document.getElementById("w-" + name);
      if (fresh && cur) {
        cur.replaceWith(document.importNode(fresh, true));
        if (last[name]) draw(last[name]);
      }
    }).catch(function () { /* the next event or a reload shows it */ });
  }

  var es = new EventSource("/ui/stream");
  es.onopen = function () { if (dot) dot.className = "live-dot on"; };
  es.onerror = function () { if (dot) dot.className = "live-dot"; };
  es.addEventListener("step", function (e) {
    var ev = JSON.parse(e.data);
    if (done[ev.deploy]) return;
    last[ev.workload] = ev;
    draw(ev);
  });
  es.addEventListener("finished", function (e) {
    var ev = JSON.parse(e.data);
    done[ev.deploy] = true;
    last[ev.workload] = ev;
    draw(ev);
    setTimeout(function () { refresh(ev.workload); }, 300);
  });
})();
