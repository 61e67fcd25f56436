// Progressive enhancement of the chat page: the form works without JavaScript (post, redirect, reload);
// with it, messages go through the chat API and the answer is drawn in place.
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

  function bubble(role, text, citations) {
    var item = document.createElement("li");
    item.className = "bubble " + role;
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = role === "customer" ? labels.you : labels.assistant;
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
      var item = bubble("assistant", data.reply, data.citations);
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

  form.addEventListener("submit", function (event) {
    var text = input.value.trim();
    if (!text) { return; }
    event.preventDefault();
    input.value = "";
    send({ text: text }, text);
  });
})();
