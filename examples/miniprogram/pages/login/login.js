const app = getApp();

// Opened by a widget whose session expired (wx.miniProgram.redirectTo), or at first use.
Page({
  data: { widget: 'submit', reason: '', busy: false },

  onLoad(options) {
    this.setData({ widget: ['track', 'handle'].includes(options.widget) ? options.widget : 'submit', reason: options.reason || '' });
  },

  async login() {
    this.setData({ busy: true });
    try {
      await app.login();
      wx.redirectTo({ url: '/pages/' + this.data.widget + '/' + this.data.widget });
    } catch (e) {
      wx.showToast({ title: '登录失败，请重试', icon: 'none' });
    } finally {
      this.setData({ busy: false });
    }
  },
});
