/* Live timeline of the execution page: append entries from the UI websocket as they happen.
 * Everything from the server is written with textContent, never innerHTML, so event data
 * (tool output, prompts, form labels) is shown as text and never runs. */
(function () {
  "use strict";
  var list = document.getElementById("timeline");
  if (!list) return;
  var badge = document.getElementById("live");
  var lastSeq = parseInt(list.dataset.lastSeq || "0", 10);
  var finished = list.dataset.finished === "1";
  var delay = 500;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function setLive(state, text) {
    if (!badge) return;
    badge.dataset.state = state;
    badge.textContent = text;
  }

  function statusBadge(status) {
    return el("span", "status st-" + status, status);
  }

  function render(entry) {
    var li = el("li", "entry cat-" + entry.category + " fresh");
    li.dataset.seq = entry.seq;
    li.dataset.type = entry.type;
    if (entry.merge) li.dataset.merge = entry.merge;
    var head = el("div", "entry-head");
    var clock = el("time", "clock", entry.clock);
    clock.setAttribute("datetime", entry.time || "");
    head.appendChild(clock);
    head.appendChild(el("span", "cat", entry.category));
    head.appendChild(el("span", "title", entry.title));
    if (entry.subtitle) head.appendChild(el("span", "subtitle", entry.subtitle));
    if (entry.status) head.appendChild(statusBadge(entry.status));
    if (entry.duration_ms !== null && entry.duration_ms !== undefined) {
      head.appendChild(el("span", "meta", Number(entry.duration_ms).toFixed(1) + " ms"));
    }
    if (entry.usage) {
      head.appendChild(el("span", "meta", (entry.usage.input_tokens || 0) + " in / " + (entry.usage.output_tokens || 0) + " out tokens"));
    }
    if (entry.cost_usd !== null && entry.cost_usd !== undefined) {
      head.appendChild(el("span", "meta", "$" + Number(entry.cost_usd).toFixed(6)));
    }
    if (entry.link && /^(https?:\/\/|\/(?!\/))/.test(entry.link)) {
      var a = el("a", "approve", "Open approval page");
      a.href = entry.link;
      head.appendChild(a);
    }
    li.appendChild(head);
    if (entry.fields && entry.fields.length) {
      var fields = el("div", "fields");
      entry.fields.forEach(function (field) {
        var wrap = el("div", "field");
        wrap.appendChild(el("span", "label", field.label));
        var pre = el("pre", "fmt-" + field.format);
        if (field.format === "diff" && field.lines) {
          field.lines.forEach(function (line) {
            pre.appendChild(el("span", "d-" + (line.cls || "ctx"), line.text));
            pre.appendChild(document.createTextNode("\n"));
          });
        } else {
          pre.textContent = field.value;
        }
        wrap.appendChild(pre);
        fields.appendChild(wrap);
      });
      li.appendChild(fields);
    }
    return li;
  }

  function addTotals(entry) {
    if (entry.category !== "llm") return;
    var tokens = document.getElementById("exec-tokens");
    if (tokens && entry.usage) {
      var input = parseInt(tokens.dataset.input || "0", 10) + (entry.usage.input_tokens || 0);
      var output = parseInt(tokens.dataset.output || "0", 10) + (entry.usage.output_tokens || 0);
      tokens.dataset.input = input;
      tokens.dataset.output = output;
      tokens.textContent = input + " in / " + output + " out";
    }
    var cost = document.getElementById("exec-cost");
    if (cost && entry.cost_usd !== null && entry.cost_usd !== undefined) {
      var sum = parseFloat(cost.dataset.cost || "0") + entry.cost_usd;
      cost.dataset.cost = sum;
      cost.textContent = "$" + sum.toFixed(6);
    }
  }

  function append(entry) {
    if (entry.seq <= lastSeq) return;  // already shown (replay after a reconnect)
    lastSeq = entry.seq;
    var empty = document.getElementById("timeline-empty");
    if (empty) empty.remove();
    var last = list.lastElementChild;
    if (entry.merge && last && last.dataset.merge === entry.merge) {
      var pre = last.querySelector(".fields pre");
      if (pre && entry.fields && entry.fields.length) pre.textContent += entry.fields[0].value;
      last.dataset.seq = entry.seq;
    } else {
      list.appendChild(render(entry));
    }
    addTotals(entry);
    if (entry.execution_id === list.dataset.execution && /^(step_|workflow_|resume_|suspend_)/.test(entry.type)) {
      refreshDetails();
    }
    list.dataset.lastSeq = String(lastSeq);
    var execution = list.dataset.execution;
    if ((entry.type === "workflow_finish" || entry.type === "workflow_cancel") && entry.execution_id === execution) {
      var status = document.getElementById("exec-status");
      if (status) { status.textContent = ""; status.appendChild(statusBadge(entry.status)); }
    } else if (entry.type === "workflow_start" && entry.execution_id === execution) {
      var current = document.getElementById("exec-status");
      if (current) { current.textContent = ""; current.appendChild(statusBadge("running")); }
    }
  }

  // The summary, steps and children are server-rendered: fetch the page again (not a reload) and
  // swap those parts in when this execution's steps or status change.
  var refreshing = false;
  var refreshAgain = false;
  var REFRESHED = ["exec-summary", "exec-outcome", "exec-details"];
  function refreshDetails() {
    if (refreshing) { refreshAgain = true; return; }
    refreshing = true;
    setTimeout(function () {
      fetch(location.pathname + "?partial=details", { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (!html) return;
          var fresh = new DOMParser().parseFromString(html, "text/html");
          REFRESHED.forEach(function (id) {
            var now = document.getElementById(id);
            var next = fresh.getElementById(id);
            if (now && next) now.replaceWith(document.adoptNode(next));
          });
        })
        .catch(function () { /* the timeline stays live; the details refresh on the next change */ })
        .then(function () {
          refreshing = false;
          if (refreshAgain) { refreshAgain = false; refreshDetails(); }
        });
    }, 300);
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + list.dataset.socket + "?last_sequence_id=" + lastSeq);
    socket.onopen = function () { delay = 500; setLive("live", "live"); };
    socket.onmessage = function (message) {
      var data = JSON.parse(message.data);
      if (data.type === "entry") append(data.entry);
      else if (data.type === "end") { finished = true; setLive("finished", "finished"); }
      else if (data.type === "error") { finished = true; setLive("error", data.message); }
    };
    socket.onclose = function () {
      if (finished) return;
      setLive("reconnecting", "reconnecting…");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }

  if (!finished && "WebSocket" in window) connect();
})();
