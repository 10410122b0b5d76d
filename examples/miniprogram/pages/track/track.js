const app = getApp();

Page({
  data: { src: '' },

  async onLoad(options) {
    if (!app.token()) {
      return wx.redirectTo({ url: '/pages/login/login?widget=track' });
    }
    try {
      const src = await app.widgetUrl('track', { case: options.case });
      this.setData({ src });
    } catch (e) {
      wx.redirectTo({ url: '/pages/login/login?widget=track&reason=expired' });
    }
  },

  onMessage(e) {
    const rated = (e.detail.data || []).filter((m) => m.type === 'minsheng:case_rated');
    if (rated.length) {
      wx.showToast({ title: '感谢您的评价', icon: 'success' });
    }
  },
});
