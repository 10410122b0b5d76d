const app = getApp();

// A handler's subscribe message opens this page with ?case=<id>: the /w/handle widget.
Page({
  data: { src: '' },

  async onLoad(options) {
    if (!app.token()) {
      return wx.redirectTo({ url: '/pages/login/login?widget=handle' });
    }
    try {
      const src = await app.widgetUrl('handle', { case: options.case });
      this.setData({ src });
    } catch (e) {
      wx.redirectTo({ url: '/pages/login/login?widget=handle&reason=expired' });
    }
  },
});
