/* The audio CAPTCHA of the plain forms (templates/_captcha.html): a large "再听一遍"
   button that plays the spoken digits again from the start. Without JavaScript the
   player's own controls play and replay it. */
(function () {
  "use strict";
  function init() {
    Array.prototype.forEach.call(document.querySelectorAll(".captcha-listen"), function (box) {
      var player = box.querySelector("audio");
      var actions = box.querySelector(".captcha-listen-actions");
      var replay = box.querySelector(".captcha-replay");
      if (!player || !actions || !replay) {
        return;
      }
      actions.hidden = false;
      replay.addEventListener("click", function () {
        player.currentTime = 0;
        var playing = player.play();
        if (playing && playing.catch) {
          playing.catch(function () {});
        }
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
