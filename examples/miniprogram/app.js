const { SERVER } = require('./config');

// Session handling shared by the pages. The session token stays in the mini-program; a
// web-view only ever gets a short-lived, single-use ticket in its URL fragment.
App({
  globalData: { lastCase: null },

  token() {
    return wx.getStorageSync('minsheng.token') || '';
  },

  request(method, path, data) {
    return new Promise((resolve, reject) => {
      wx.request({
        url: SERVER + path,
        method,
        data,
        header: this.token() ? { Authorization: 'Bearer ' + this.token() } : {},
        success: (res) => (res.statusCode < 300 ? resolve(res.data) : reject(res)),
        fail: reject,
      });
    });
  },

  // wx.login's code, exchanged by our server (jscode2session); session_key never leaves it.
  login() {
    return new Promise((resolve, reject) => {
      wx.login({
        success: ({ code }) =>
          this.request('POST', '/api/v1/auth/wechat', { code })
            .then((res) => {
              wx.setStorageSync('minsheng.token', res.token);
              resolve(res);
            })
            .catch(reject),
        fail: reject,
      });
    });
  },

  // A web-view URL for a widget: the ticket goes in the fragment, never the query string.
  async widgetUrl(widget, query) {
    const { ticket } = await this.request('POST', '/api/v1/auth/ticket');
    const q = Object.keys(query || {})
      .filter((k) => query[k] !== undefined && query[k] !== null)
      .map((k) => encodeURIComponent(k) + '=' + encodeURIComponent(query[k]))
      .join('&');
    return SERVER + '/w/' + widget + (q ? '?' + q : '') + '#ticket=' + encodeURIComponent(ticket);
  },

  // Photos chosen natively go to the same endpoint as the widget's (multipart field `file`).
  uploadPhoto(caseId, filePath) {
    return new Promise((resolve, reject) => {
      wx.uploadFile({
        url: SERVER + '/api/v1/cases/' + caseId + '/photos',
        filePath,
        name: 'file',
        header: { Authorization: 'Bearer ' + this.token() },
        success: (res) => (res.statusCode < 300 ? resolve(JSON.parse(res.data)) : reject(res)),
        fail: reject,
      });
    });
  },
});
