// Progressive enhancement of the chat page: the form works without JavaScript (post, redirect, reload);
// with it, messages go through the chat API and the answer is drawn in place, and while a colleague has the
// conversation (a hand-off) the page asks for the transcript every few seconds and shows their replies as they come.
(function () {
  "use strict";
  var section = document.querySelector(".chat[data-api]");
  var form = document.getElementById("chat-form");
  if (!section || !form || !window.fetch) { return; }
  var log = document.getElementById("chat-log");
  var input = form.querySelector("input[name=text]");
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var lang = document.documentElement.lang || "en";
  var zh = lang.indexOf("zh") === 0;
  var labels = zh ? { you: "您", assistant: "智能助手", confirm: "确认", cancel: "取消", error: "发送失败，请重试。" }
                  : { you: "You", assistant: "Assistant", confirm: "Confirm", cancel: "Cancel",
                      error: "Sending failed; please try again." };

  var POLL_MS = 5000;
  var seen = {};  // ids of the messages on the page: a colleague's reply is drawn once
  Array.prototype.forEach.call(log.querySelectorAll("li[data-id]"), function (li) { seen[li.dataset.id] = true; });
  var notice = section.querySelector(".handoff-notice");
  var polling = null;

  function bubble(role, text, citations) {
    var item = document.createElement("li");
    item.className = "bubble " + role;
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = role === "customer" ? labels.you : role === "agent" ? section.dataset.staffLabel : labels.assistant;
    var body = document.createElement("div");
    body.className = "text";
    body.textContent = text;  // never innerHTML: replies are text
    item.appendChild(who);
    item.appendChild(body);
    if (citations && citations.length) {
      var list = document.createElement("ul");
      list.className = "sources";
      citations.forEach(function (c) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = c.url; a.textContent = c.title;
        li.appendChild(a); list.appendChild(li);
      });
      item.appendChild(list);
    }
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
    return item;
  }

  function poll() {
    if (document.hidden) { return; }  // a tab in the background asks nothing; the next poll after it is shown does
    fetch(section.dataset.sessionApi, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        data.messages.forEach(function (m) {
          if (m.role === "agent" && !seen[m.id]) { seen[m.id] = true; bubble("agent", m.text); }
        });
        if (data.status !== "handed_off") { stopPolling(); }
      }).catch(function () { /* the next poll tries again */ });
  }

  function startPolling() {
    if (!notice) {
      notice = document.createElement("p");
      notice.className = "alert warn handoff-notice";
      notice.setAttribute("role", "status");
      notice.textContent = section.dataset.handoffNotice;
      section.insertBefore(notice, log);
    }
    if (!polling) { polling = window.setInterval(poll, POLL_MS); }
  }

  function stopPolling() {
    if (polling) { window.clearInterval(polling); polling = null; }
    if (notice) { notice.remove(); notice = null; }
  }

  function send(payload, shown) {
    if (shown) { bubble("customer", shown); }
    var key = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random();
    return fetch(section.dataset.api, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Idempotency-Key": key },
      body: JSON.stringify(payload)
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      if (!result.ok) { bubble("assistant", (result.data.error && result.data.error.message) || labels.error); return; }
      var data = result.data;
      seen[data.message_id] = true;
      var item = bubble("assistant", data.reply, data.citations);
      if (data.handoff) { startPolling(); }
      var old = document.getElementById("pending");
      if (old) { old.remove(); }
      if (data.pending_confirmation) {
        var actions = document.createElement("div");
        actions.className = "pending";
        [["confirm", labels.confirm, "button primary"], ["cancel", labels.cancel, "button"]].forEach(function (b) {
          var button = document.createElement("button");
          button.type = "button"; button.className = b[2]; button.textContent = b[1];
          button.addEventListener("click", function () {
            actions.remove();
            var body = {}; body[b[0]] = data.pending_confirmation.id;
            send(body, b[1]);
          });
          actions.appendChild(button);
        });
        item.appendChild(actions);
      }
    }).catch(function () { bubble("assistant", labels.error); });
  }

  if (notice) { startPolling(); }

  form.addEventListener("submit", function (event) {
    var text = input.value.trim();
    if (!text) { return; }
    event.preventDefault();
    input.value = "";
    send({ text: text }, text);
  });
})();
