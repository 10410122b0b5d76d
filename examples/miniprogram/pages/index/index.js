const app = getApp();
const { askForUpdates } = require('../../subscribe');

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

  // Opening one's cases is a natural moment to ask for the next update (one accept, one
  // message); the answer does not hold up the navigation.
  async track() {
    await askForUpdates();
    wx.navigateTo({ url: '/pages/track/track' });
  },

  // Right after a submission (the button shows once the web-view reported it).
  async subscribe() {
    const accepted = await askForUpdates();
    this.setData({ message: accepted ? '办理有新进展时将通知您一次' : '未开启通知' });
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
