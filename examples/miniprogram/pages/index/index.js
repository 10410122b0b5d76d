const app = getApp();
const { TEMPLATE_IDS } = require('../../config');

Page({
  data: { lastCase: null, message: '' },

  onShow() {
    this.setData({ lastCase: app.globalData.lastCase });
  },

  report() {
    // Location belongs to the native side; the widget gets it through its URL. GCJ-02, as
    // WeChat's maps draw it: the submit page declares it (`coord_system=gcj02`).
    wx.getLocation({
      type: 'gcj02',
      success: ({ latitude, longitude }) =>
        wx.navigateTo({ url: '/pages/submit/submit?lat=' + latitude + '&lng=' + longitude }),
      fail: () => wx.navigateTo({ url: '/pages/submit/submit' }),
    });
  },

  track() {
    wx.navigateTo({ url: '/pages/track/track' });
  },

  // Subscribe-message consent must come from a tap.
  subscribe() {
    wx.requestSubscribeMessage({
      tmplIds: TEMPLATE_IDS,
      success: () => this.setData({ message: '已开启办理进度通知' }),
      fail: () => this.setData({ message: '未开启通知' }),
    });
  },

  addPhotos() {
    const c = this.data.lastCase;
    wx.chooseMedia({
      count: 9,
      mediaType: ['image'],
      sizeType: ['compressed'],
      success: async ({ tempFiles }) => {
        for (const f of tempFiles) {
          await app.uploadPhoto(c.case_id, f.tempFilePath);
        }
        this.setData({ message: '照片已上传' });
      },
    });
  },
});
