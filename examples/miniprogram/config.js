// The Minsheng server. It must be configured as a business domain (业务域名) of this
// mini-program for <web-view>, and as a request/upload domain for wx.request/wx.uploadFile.
module.exports = {
  SERVER: 'https://minsheng.example.gov.cn',
  // Subscribe-message templates (at most 3 per request), from the mini-program console.
  TEMPLATE_IDS: ['REPLACE_WITH_CASE_PROGRESS_TEMPLATE_ID'],
};
