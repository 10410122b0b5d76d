// Subscribe-message consent. One tap that accepts a template allows ONE message from it
// (一次性订阅), so the sample asks again at each natural moment — after a submission, when
// a case is opened — and always from a tap (WeChat refuses the call otherwise).
// `success` only means the dialog closed: the answer for each template is res[tmplId],
// 'accept', 'reject', 'ban' or 'filter'.
const { TEMPLATE_IDS } = require('./config');

function askForUpdates() {
  return new Promise((resolve) => {
    wx.requestSubscribeMessage({
      tmplIds: TEMPLATE_IDS,
      success: (res) => resolve(TEMPLATE_IDS.some((id) => res[id] === 'accept')),
      fail: () => resolve(false),
    });
  });
}

module.exports = { askForUpdates };
