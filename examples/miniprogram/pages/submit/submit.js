const app = getApp();

Page({
  data: { src: '' },

  async onLoad(options) {
    if (!app.token()) {
      return wx.redirectTo({ url: '/pages/login/login?widget=submit' });
    }
    try {
      // Coordinates from wx.getLocation travel in the query; the ticket in the fragment.
      // They are GCJ-02 (type: 'gcj02' on the index page), and the widget tells the server
      // so; the server stores WGS-84.
      const located = options.lat !== undefined && options.lng !== undefined;
      const src = await app.widgetUrl('submit', {
        lat: options.lat,
        lng: options.lng,
        coord_system: located ? 'gcj02' : undefined,
      });
      this.setData({ src });
    } catch (e) {
      wx.redirectTo({ url: '/pages/login/login?widget=submit&reason=expired' });
    }
  },

  // Messages from wx.miniProgram.postMessage arrive on back, share or destroy, all at once.
  onMessage(e) {
    const submitted = (e.detail.data || []).filter((m) => m.type === 'minsheng:case_submitted');
    if (submitted.length) {
      app.globalData.lastCase = submitted[submitted.length - 1];
    }
  },
});
