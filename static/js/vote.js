/*
 * Voting without leaving the page (progressive enhancement).
 *
 * Every 投票 button is a plain link to the no-JavaScript form. Where the browser has
 * <dialog>, fetch and JSON, this script opens an in-page dialog instead and votes
 * through the public JSON API (POST /api/v1/captcha, POST /api/v1/campaigns/{slug}/votes).
 * A CAPTCHA is single-use: after any refused attempt a new one is fetched. A solved one
 * earns a vote pass (kept for this tab in sessionStorage until it expires): the next
 * votes send it instead, until the portal asks for a CAPTCHA again (captcha_required).
 * Where the voter stands today comes from the portal (GET /campaigns/{slug}/vote/standing,
 * never cached, as the pages are): the votes left in each category are shown before the
 * voter starts, and the candidates voted for today show "今日已投" on their buttons (also
 * kept in localStorage for the campaign's day, for a page opened without the network);
 * their dialog, or one in a category whose votes are spent, says so without asking for
 * anything.
 * It also turns [data-copy] buttons into "copy the receipt" buttons.
 *
 * Plain ES5 with promises, for the older in-app browsers people open WeChat links in.
 * Served from /static: the Content-Security-Policy allows no inline script.
 */
(function () {
  "use strict";

  // Refusals after which another attempt at this candidate is pointless today.
  var FINAL = { already_voted: true, limit_reached: true, voting_closed: true };
  var CAPTCHA_RETRIES = 3;

  function ready(fn) {
    if (document.readyState !== "loading") {
      fn();
    } else {
      document.addEventListener("DOMContentLoaded", fn);
    }
  }

  function randomKey() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === "function") {
      return c.randomUUID();
    }
    if (c && typeof c.getRandomValues === "function") {
      var bytes = new Uint8Array(16);
      c.getRandomValues(bytes);
      var out = "";
      for (var i = 0; i < bytes.length; i++) {
        out += (bytes[i] + 256).toString(16).slice(1);
      }
      return out;
    }
    return String(Date.now()) + "-" + String(Math.random()).slice(2);
  }

  // The JSON body of a response (or {} when there is none), with the status.
  function readJson(response) {
    return response.text().then(function (text) {
      var data = {};
      try {
        data = text ? JSON.parse(text) : {};
      } catch (e) {
        data = {};
      }
      return { status: response.status, headers: response.headers, data: data };
    });
  }

  function postJson(url, body, headers) {
    var all = { Accept: "application/json" };
    if (body !== undefined) {
      all["Content-Type"] = "application/json";
    }
    for (var name in headers || {}) {
      all[name] = headers[name];
    }
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: all,
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(readJson);
  }

  function copyText(text, button) {
    var done = function () {
      var label = button.textContent;
      button.textContent = "已复制";
      setTimeout(function () {
        button.textContent = label;
      }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {
        fallbackCopy(text) && done();
      });
    } else if (fallbackCopy(text)) {
      done();
    }
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "copy-buffer";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    document.body.removeChild(area);
    return ok;
  }

  function initCopyButtons() {
    var buttons = document.querySelectorAll("button[data-copy]");
    Array.prototype.forEach.call(buttons, function (button) {
      var target = document.querySelector(button.getAttribute("data-copy"));
      if (!target) {
        return;
      }
      button.hidden = false;
      button.addEventListener("click", function () {
        copyText(target.textContent.trim(), button);
      });
    });
  }

  function formatTime(iso) {
    // "2023-06-01T09:30:12.345+08:00" → "2023年06月01日 09:30:12" (already campaign time).
    var text = String(iso || "");
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}:\d{2}:\d{2})/.exec(text);
    return m ? m[1] + "年" + m[2] + "月" + m[3] + "日 " + m[4] : text;
  }

  function initDialog() {
    var dialog = document.getElementById("vote-dialog");
    if (!dialog || typeof dialog.showModal !== "function" || !window.fetch || !window.Promise) {
      return; // the links lead to the plain form
    }
    var slug = dialog.getAttribute("data-slug");
    function part(role) {
      return dialog.querySelector('[data-role="' + role + '"]');
    }
    var ask = part("ask");
    var done = part("done");
    var image = part("image");
    var audio = part("audio");
    var player = part("player");
    var message = part("message");
    var submit = part("submit");
    var inputs = part("inputs");
    var final = part("final");
    var answer = ask.querySelector("input[name=captcha_answer]");
    var passed = part("passed");
    var state = { candidateId: null, categoryId: null, captchaId: null, key: null, busy: false, loading: 0 };
    var passKey = "vote-pass:" + slug;
    var votedKey = "voted:" + slug;
    var zone = dialog.getAttribute("data-timezone") || "Asia/Shanghai";
    var ALREADY = "您今天已经为该候选对象投过票了，明天再来吧。";
    var left = {}; // category id → votes left today, as the portal last said

    function showLeft() {
      var notes = document.querySelectorAll("[data-votes-left-for]");
      Array.prototype.forEach.call(notes, function (note) {
        var value = left[note.getAttribute("data-votes-left-for")];
        if (typeof value === "number") {
          note.querySelector('[data-role="left-count"]').textContent = String(value);
          note.hidden = false;
        }
      });
    }

    // Ask the portal where this voter stands when the page opens (it is the authority).
    function fetchStanding() {
      return window
        .fetch("/campaigns/" + encodeURIComponent(slug) + "/vote/standing", {
          credentials: "same-origin",
          headers: { Accept: "application/json" }
        })
        .then(readJson)
        .then(function (result) {
          if (result.status !== 200) {
            return;
          }
          left = result.data.left || {};
          showLeft();
          (result.data.voted || []).forEach(rememberVote);
        })
        .catch(function () {
          // Offline: the buttons keep what localStorage knows.
        });
    }

    // Today in the campaign's time zone, as the ledger's cast_at starts: YYYY-MM-DD.
    function today() {
      try {
        return new Intl.DateTimeFormat("en-CA", {
          timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit"
        }).format(new Date());
      } catch (e) {
        return "";
      }
    }

    function votedToday() {
      try {
        var kept = JSON.parse(window.localStorage.getItem(votedKey) || "null");
        return kept && kept.day === today() ? kept.ids : [];
      } catch (e) {
        return [];
      }
    }

    function markVoted(candidateId) {
      var links = document.querySelectorAll('a.vote-button[data-candidate-id="' + candidateId + '"]');
      Array.prototype.forEach.call(links, function (link) {
        link.classList.add("voted");
        var label = link.querySelector(".vote-button-label");
        if (label) {
          label.textContent = "今日已投";
        }
      });
    }

    function rememberVote(candidateId) {
      var ids = votedToday().slice();
      if (ids.indexOf(candidateId) < 0) {
        ids.push(candidateId);
      }
      try {
        window.localStorage.setItem(votedKey, JSON.stringify({ day: today(), ids: ids }));
      } catch (e) {
        // Storage refused: the buttons say it until the page is left.
      }
      markVoted(candidateId);
    }

    // The pass earned by the last solved CAPTCHA, while it is good: { token, until }.
    function currentPass() {
      try {
        var kept = JSON.parse(window.sessionStorage.getItem(passKey) || "null");
        return kept && kept.until > Date.now() + 5000 ? kept : null;
      } catch (e) {
        return null;
      }
    }

    function keepPass(vote) {
      try {
        if (vote.vote_pass && vote.pass_expires_in) {
          var until = Date.now() + vote.pass_expires_in * 1000;
          window.sessionStorage.setItem(passKey, JSON.stringify({ token: vote.vote_pass, until: until }));
        } else {
          window.sessionStorage.removeItem(passKey);
        }
      } catch (e) {
        // Storage refused (private mode): every vote asks for a CAPTCHA.
      }
    }

    // With a pass the CAPTCHA is not asked for; without one it is loaded.
    function askFor(pass) {
      passed.hidden = !pass;
      inputs.hidden = !!pass;
      if (pass) {
        var minutes = Math.max(1, Math.ceil((pass.until - Date.now()) / 60000));
        passed.textContent = "您刚才已通过验证码验证，" + minutes + " 分钟内在本活动投票无需再输入验证码。";
        state.captchaId = null;
        submit.disabled = false;
        submit.focus();
      } else {
        loadCaptcha();
      }
    }

    function say(text) {
      message.textContent = text || "";
      message.hidden = !text;
    }

    function setAsking(enabled) {
      submit.disabled = !enabled;
      answer.disabled = !enabled;
    }

    function loadCaptcha(attempt) {
      attempt = attempt || 0;
      var ticket = ++state.loading;
      state.captchaId = null;
      setAsking(false);
      image.removeAttribute("src");
      image.alt = "验证码图片，加载中";
      return postJson("/api/v1/captcha")
        .then(function (result) {
          if (ticket !== state.loading) {
            return; // a newer request took over
          }
          if (result.status === 201) {
            state.captchaId = result.data.captcha_id;
            image.src = result.data.image_url;
            image.alt = "验证码图片（看不清可换一张或听语音验证码）";
            audio.href = result.data.audio_url;
            audio.textContent = "听语音验证码";
            player.pause(); // the last challenge's recording, if still playing
            setAsking(true);
            answer.value = "";
            answer.focus();
            return;
          }
          if (result.status === 503 && attempt < CAPTCHA_RETRIES) {
            var wait = parseInt(result.headers.get("Retry-After"), 10) || 2;
            say("验证码准备中，请稍候…");
            setTimeout(function () {
              if (ticket === state.loading) {
                loadCaptcha(attempt + 1);
              }
            }, wait * 1000);
            return;
          }
          say(result.data.message || "验证码获取失败，请稍后点“换一张验证码”重试。");
        })
        .catch(function () {
          if (ticket === state.loading) {
            say("网络连接失败，请检查网络后点“换一张验证码”重试。");
          }
        });
    }

    function bumpCount(candidateId) {
      var cells = document.querySelectorAll('[data-count-for="' + candidateId + '"]');
      Array.prototype.forEach.call(cells, function (cell) {
        var value = parseInt(cell.textContent.replace(/[^0-9]/g, ""), 10) || 0;
        cell.textContent = String(value + 1);
      });
    }

    function showReceipt(vote) {
      ask.hidden = true;
      done.hidden = false;
      part("receipt").textContent = vote.receipt;
      part("cast-at").textContent = formatTime(vote.cast_at);
      part("left").textContent = String(vote.votes_left_today);
      part("check").href = "/receipts/" + encodeURIComponent(vote.receipt);
      part("held").hidden = vote.status !== "held";
      if (vote.status === "counted") {
        bumpCount(vote.candidate_id);
      }
      part("receipt").focus();
    }

    function open(link) {
      state.opener = link; // focus goes back to it when the dialog closes
      state.candidateId = parseInt(link.getAttribute("data-candidate-id"), 10);
      state.categoryId = link.getAttribute("data-category-id");
      state.key = randomKey();
      part("name").textContent = link.getAttribute("data-candidate-name") || "";
      ask.hidden = false;
      done.hidden = true;
      inputs.hidden = false;
      submit.hidden = false;
      final.hidden = true;
      say("");
      answer.value = "";
      dialog.showModal();
      if (link.classList.contains("voted")) {
        showFinal(ALREADY); // known here: nothing to ask, nothing to send
        return;
      }
      if (left[link.getAttribute("data-category-id")] === 0) {
        showFinal("您今天在本类别的票已经投完，明天再来吧。");
        return;
      }
      askFor(currentPass());
    }

    function showFinal(text) {
      say(text);
      state.captchaId = null;
      passed.hidden = true;
      inputs.hidden = true;
      submit.hidden = true;
      final.hidden = false;
    }

    function cast(event) {
      event.preventDefault();
      if (state.busy) {
        return;
      }
      var text = answer.value.trim();
      var pass = currentPass();
      if (!pass && !state.captchaId) {
        say("验证码尚未加载，请稍候或点“换一张验证码”。");
        return;
      }
      if (!pass && !text) {
        say("请输入图中的验证码。");
        answer.focus();
        return;
      }
      state.busy = true;
      setAsking(false);
      submit.textContent = "正在提交…";
      say("");
      var body = pass
        ? { candidate_id: state.candidateId, vote_pass: pass.token }
        : { candidate_id: state.candidateId, captcha_id: state.captchaId, captcha_answer: text };
      postJson("/api/v1/campaigns/" + encodeURIComponent(slug) + "/votes", body, {
        "Idempotency-Key": state.key
      })
        .then(function (result) {
          // A definite answer: the next attempt is a new request.
          state.key = randomKey();
          if (result.status === 201) {
            keepPass(result.data);
            rememberVote(result.data.candidate_id);
            showReceipt(result.data);
            if (state.categoryId) {
              // The answer says what is left: no second request on the busiest path.
              left[state.categoryId] = result.data.votes_left_today;
              showLeft();
            }
            return;
          }
          if (result.data.error === "already_voted") {
            rememberVote(state.candidateId);
          }
          if (FINAL[result.data.error]) {
            // No new CAPTCHA: trying again cannot help today.
            showFinal(result.data.message);
            return;
          }
          say(result.data.message || "投票未成功，请稍后再试。");
          if (result.data.error === "captcha_required") {
            // The pass is no longer honoured: the same choice, with a CAPTCHA.
            keepPass({});
            askFor(null);
            return;
          }
          askFor(pass); // the attempt consumed the CAPTCHA (a pass stays)
        })
        .catch(function () {
          // Unknown whether it was recorded: keep the Idempotency-Key, so a retry
          // returns the same receipt instead of a second vote.
          say("网络连接失败，请检查网络后重试。");
          askFor(currentPass());
        })
        .then(function () {
          state.busy = false;
          submit.textContent = "确认投票";
        });
    }

    document.addEventListener("click", function (event) {
      var target = event.target;
      var link = target && target.closest ? target.closest("a.vote-button[data-candidate-id]") : null;
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey) {
        return;
      }
      event.preventDefault();
      open(link);
    });
    ask.addEventListener("submit", cast);
    votedToday().forEach(markVoted);
    fetchStanding();
    part("refresh").addEventListener("click", function () {
      say("");
      loadCaptcha();
    });
    // The spoken CAPTCHA plays in the dialog, from the start at every tap (再听一遍).
    // Where the browser cannot play WAV the link opens the recording; where it refuses
    // to play, the player's own controls are shown.
    audio.addEventListener("click", function (event) {
      if (!state.captchaId) {
        event.preventDefault();
        return;
      }
      if (!player.canPlayType("audio/wav")) {
        return;
      }
      event.preventDefault();
      if (player.getAttribute("src") !== audio.getAttribute("href")) {
        player.src = audio.getAttribute("href");
      }
      player.currentTime = 0;
      var playing = player.play();
      if (playing && playing.catch) {
        playing.catch(function () {
          player.controls = true;
          player.hidden = false;
        });
      }
      audio.textContent = "再听一遍";
    });
    part("copy").addEventListener("click", function () {
      copyText(part("receipt").textContent, part("copy"));
    });
    Array.prototype.forEach.call(dialog.querySelectorAll('[data-role="close"]'), function (button) {
      button.addEventListener("click", function () {
        dialog.close();
      });
    });
    // A tap on the backdrop closes the dialog, as people expect on phones.
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) {
        dialog.close();
      }
    });
    dialog.addEventListener("close", function () {
      state.loading++; // ignore CAPTCHA answers still on their way
      state.captchaId = null;
      player.pause();
      if (state.opener && document.contains(state.opener)) {
        state.opener.focus();
      }
    });
  }

  ready(function () {
    initCopyButtons();
    initDialog();
  });
})();
