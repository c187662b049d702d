"""The subjects of the demo catalogue, per category: title stem, publishing department, update
frequency, tags and fields. Entries are composed from them in ``entries.py``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Subject:
    """A kind of dataset. Titles are ``[year][place]stem``; ``dept`` publishes it (``@swj``: the
    commerce bureau of the entry's district, or the city bureau for city-wide entries)."""

    stem: str
    dept: str
    fields: str
    tags: str
    freq: str = "monthly"
    by_district: bool = True  # may be published per district (``,city`` in the table: never)
    yearly: bool = True  # may be published per year


# [category], then per subject: "stem | department | frequency[,city] | tags" and its fields on the
# next line (``@ent`` stands for the enterprise's code and name).
SUBJECT_TABLE = """
[business]
市场主体登记信息 | qd-scjgj | daily | 市场主体 登记
    @ent ent_type industry_code reg_capital found_date status ent_address
个体工商户登记信息 | qd-scjgj | daily | 个体工商户 登记
    ent_name legal_rep id_number industry_name found_date status address
企业变更登记信息 | qd-scjgj | daily | 企业 变更
    @ent category_name approve_date reg_authority
企业注销登记信息 | qd-scjgj | daily | 企业 注销
    @ent approve_date reg_authority listed_reason
企业年度报告信息 | qd-scjgj | yearly | 企业年报
    @ent stat_year insured_total revenue tax_amount
食品经营许可信息 | qd-scjgj | monthly | 食品 许可
    @ent licence_no licence_scope issue_date valid_to address
特种设备使用登记信息 | qd-scjgj | monthly | 特种设备 登记
    @ent licence_no category_name issue_date address
工业产品生产许可证信息 | qd-scjgj | monthly | 生产许可 工业产品
    @ent licence_no licence_name valid_from valid_to
商标注册信息 | qd-scjgj | monthly | 商标 知识产权
    @ent cert_no category_name apply_date grant_date
企业股东及出资信息 | qd-scjgj | monthly | 股东 出资
    @ent person_name id_number reg_capital found_date
外商投资企业登记信息 | qd-scjgj | monthly | 外商投资 登记
    @ent destination reg_capital found_date status
农民专业合作社登记信息 | qd-scjgj | monthly | 合作社 登记
    @ent legal_rep found_date business_scope address
行政许可决定信息 | qd-xzsp | monthly | 行政许可 审批
    @ent licence_no licence_name decision_date issuing_authority
营业执照电子证照信息 | qd-xzsp | daily | 营业执照 电子证照
    @ent ent_type issue_date reg_authority
企业开办一网通办信息 | qd-xzsp | monthly | 企业开办 一网通办
    @ent service_item handle_dept time_limit approve_date
产品质量监督抽查结果 | qd-scjgj | quarterly | 产品质量 抽查
    @ent category_name inspect_date status remark
计量器具检定信息 | qd-scjgj | quarterly | 计量 检定
    @ent cert_no inspect_date valid_to
广告经营单位信息 | qd-scjgj | quarterly | 广告 经营
    @ent licence_no business_scope address
[credit]
企业信用综合评价结果 | qd-fgw | quarterly | 企业信用 信用评价
    @ent credit_score credit_grade eval_year
纳税信用A级纳税人名单 | qd-tax | yearly | 纳税信用 红名单
    @ent credit_grade eval_year taxpayer_type
行政处罚信息 | qd-scjgj | daily | 行政处罚 信用
    decision_no @ent violation legal_basis penalty fine_amount decision_date
行政许可信用信息 | qd-xzsp | daily | 行政许可 双公示
    @ent licence_no licence_name decision_date valid_to
失信被执行人名单 | qd-zy | daily | 失信被执行人 黑名单
    case_no ent_name uscc court obligation performance publish_date
经营异常名录 | qd-scjgj | daily | 经营异常 信用
    @ent listed_reason listed_date removed_date removed_reason
严重违法失信企业名单 | qd-scjgj | weekly | 严重违法 黑名单
    @ent listed_reason listed_date issuing_authority
海关企业信用等级信息 | qd-hg | monthly | 海关 高级认证
    @ent credit_grade cert_no valid_from
信用修复结果信息 | qd-fgw | weekly | 信用修复
    @ent decision_no decision_date removed_reason
守信激励对象名单 | qd-fgw | quarterly | 守信激励 红名单
    @ent honour listed_date issuing_authority
建筑市场主体信用评价 | qd-zjj | quarterly | 建筑市场 信用评价
    @ent credit_score credit_grade eval_year
拖欠农民工工资失信联合惩戒名单 | qd-rsj | monthly | 欠薪 失信
    @ent legal_rep listed_reason listed_date amount
安全生产失信联合惩戒名单 | qd-yjj | quarterly | 安全生产 失信
    @ent listed_reason listed_date decision_no
环保信用评价结果 | qd-sthjj | yearly | 环保信用
    @ent credit_grade eval_year remark
个人失信被执行人名单 | qd-zy | daily | 失信被执行人 个人
    case_no person_name id_number court obligation performance publish_date
信用承诺履约信息 | qd-fgw | monthly | 信用承诺
    @ent service_item decision_date performance
[medical]
医疗机构执业许可信息 | qd-wjw | monthly | 医疗机构 执业许可
    hospital_name uscc hospital_level departments beds licence_no valid_to address
医师执业注册信息 | qd-wjw | monthly | 医师 执业注册
    doctor_name practice_cert hospital_name category_name issue_date
门诊就诊记录 | qd-wjw | daily | 门诊 就诊
    patient_name patient_id hospital_name visit_date diagnosis diagnosis_code total_cost
住院病案首页信息 | qd-wjw | daily | 住院 病案
    patient_name patient_id hospital_name visit_date diagnosis_code total_cost
医保定点医药机构名单 | qd-ybj | monthly | 医保 定点机构
    hospital_name uscc hospital_level insurance_type valid_from address
医保结算明细 | qd-ybj | daily | 医保 结算
    patient_name patient_id hospital_name visit_date total_cost fund_paid self_paid insurance_type
医保药品目录 | qd-ybj | yearly,city | 医保 药品目录
    drug_code drug_name category_name unit remark
药品集中带量采购中选结果 | qd-ybj | quarterly,city | 药品集采 医药
    drug_code drug_name @ent amount valid_to
药品经营许可信息 | qd-scjgj | monthly | 药品经营 医药
    @ent licence_no licence_scope issue_date valid_to address
医疗器械经营备案信息 | qd-scjgj | monthly | 医疗器械 备案
    @ent cert_no licence_scope issue_date address
预防接种单位信息 | qd-wjw | quarterly | 预防接种 疫苗
    hospital_name vaccine open_hours address contact_phone
居民电子健康档案 | qd-wjw | daily | 健康档案
    person_name id_number birth_date home_address diagnosis
基层医疗卫生机构服务量统计 | qd-wjw | monthly | 基层医疗 统计
    hospital_name period flow_count total_cost
医疗卫生资源统计 | qd-wjw | yearly | 卫生资源 统计
    stat_year hospital_level beds count indicator value
互联网医院名单 | qd-wjw | quarterly,city | 互联网医院
    hospital_name uscc departments issue_date site_url
医保基金收支统计 | qd-ybj | monthly | 医保基金 统计
    period insurance_type amount fund_paid yoy
长期护理保险定点机构信息 | qd-ybj | quarterly | 长护险 定点
    org_name uscc care_level beds address
区域医疗数据运营试点诊疗数据 | qd-wjw | daily | 三医 医疗数据运营
    patient_id hospital_name visit_date diagnosis_code drug_code total_cost
[social_security]
企业社会保险参保信息 | qd-rsj | monthly | 社保 参保
    @ent period insured_total pension_insured medical_insured unemployment_insured injury_insured
个人社会保险缴费信息 | qd-rsj | monthly | 社保 缴费
    person_name id_number period contribution_base paid_amount
企业社保缴费欠费信息 | qd-rsj | monthly | 社保 欠费
    @ent period paid_amount arrears
招聘岗位信息 | qd-rsj | daily | 招聘 就业
    @ent job_title salary_range education_level count address
就业困难人员认定信息 | qd-rsj | monthly | 就业援助
    person_name id_number mobile home_address category_name
创业担保贷款发放信息 | qd-rsj | monthly | 创业 贷款
    person_name id_number amount decision_date bank_account
高层次人才认定信息 | qd-rsj | quarterly | 人才 认定
    person_name category_name honour_level recognised_year ent_name
职业技能等级认定信息 | qd-rsj | monthly | 职业技能
    person_name id_number job_title cert_no issue_date
人力资源服务机构许可信息 | qd-rsj | quarterly | 人力资源服务
    @ent licence_no licence_scope issue_date address
稳岗返还资金发放信息 | qd-rsj | yearly | 稳岗返还 惠企
    @ent insured_total amount decision_date
失业保险金领取信息 | qd-rsj | monthly | 失业保险
    person_name id_number period amount bank_account
劳动保障监察案件信息 | qd-rsj | monthly | 劳动监察
    @ent case_no violation decision_date amount
城乡居民养老保险参保统计 | qd-rsj | monthly | 养老保险 统计
    period insured_total pension_insured amount yoy
企业用工备案信息 | qd-rsj | monthly | 用工 备案
    @ent period insured_total count job_title
技工院校名录 | qd-rsj | yearly,city | 技工院校
    school_name school_nature students teachers address
[finance_tax]
企业纳税信息 | qd-tax | monthly | 纳税 税收
    @ent stat_year tax_amount taxpayer_type
增值税发票开具统计 | qd-tax | monthly | 发票 增值税
    @ent period invoice_count amount
一般纳税人资格登记信息 | qd-tax | monthly | 一般纳税人
    @ent taxpayer_type approve_date
欠税公告信息 | qd-tax | quarterly | 欠税 公告
    @ent legal_rep legal_rep_id amount publish_date
税收收入统计 | qd-tax | monthly | 税收 统计
    period indicator amount yoy
政府采购合同信息 | qd-czj | daily | 政府采购
    bid_project @ent contract_amount decision_date
财政惠企资金兑付信息 | qd-czj | monthly | 惠企资金 兑付
    @ent project_name amount decision_date
部门预决算公开信息 | qd-czj | yearly | 预决算 财政
    org_name stat_year indicator amount
地方金融组织名录 | qd-jrj | quarterly | 地方金融 小额贷款
    @ent category_name reg_capital licence_no address
融资担保业务统计 | qd-jrj | quarterly | 融资担保
    period count amount yoy
普惠金融贷款投放统计 | qd-jrj | monthly | 普惠金融 贷款
    period category_name amount count yoy
上市及挂牌企业名录 | qd-jrj | quarterly,city | 上市 挂牌
    @ent category_name listed_date industry_name
住房公积金缴存单位信息 | qd-gjj | monthly | 公积金 缴存
    @ent period insured_total paid_amount
住房公积金个人贷款信息 | qd-gjj | monthly | 公积金 贷款
    person_name id_number amount decision_date bank_account
[education]
中小学校名录 | qd-jyj | yearly | 学校 名录
    school_name uscc school_type school_nature students teachers address
幼儿园名录 | qd-jyj | yearly | 幼儿园 学前教育
    school_name school_nature students teachers address
义务教育学校招生划片范围 | qd-jyj | yearly | 招生 学区
    school_name school_type community street enrol_plan
普通高中招生计划 | qd-jyj | yearly | 中考 招生
    school_name enrol_plan school_nature address
学生资助发放信息 | qd-jyj | quarterly | 学生资助
    student_name id_number school_name amount bank_account
校外培训机构白名单 | qd-jyj | monthly | 校外培训
    @ent licence_no licence_scope address
教师资格认定信息 | qd-jyj | quarterly | 教师资格
    person_name id_number cert_no category_name issue_date
高等院校名录 | qd-jyj | yearly,city | 高校
    school_name uscc school_nature students teachers address
教育经费统计 | qd-jyj | yearly | 教育经费 统计
    stat_year school_type amount yoy
学校食堂食品安全等级 | qd-scjgj | quarterly | 校园食品安全
    school_name credit_grade inspect_date address
中等职业学校专业设置 | qd-jyj | yearly | 职业教育
    school_name category_name enrol_plan
[transport]
公交线路及站点信息 | qd-jtysj | weekly | 公交 线路
    route_no route_name stop_name longitude latitude open_hours
道路运输经营许可信息 | qd-jtysj | monthly | 道路运输 许可
    @ent licence_no licence_scope valid_to
出租汽车运营车辆信息 | qd-jtysj | monthly | 出租车
    plate_no vehicle_type ent_name licence_no valid_to
网约车驾驶员资格信息 | qd-jtysj | monthly | 网约车 驾驶员
    driver_name id_number cert_no valid_to
港口货物吞吐量统计 | qd-kab | monthly,city | 港口 吞吐量
    period throughput teu yoy
国际集装箱航线信息 | qd-kab | monthly,city | 航线 集装箱 航贸金
    route_no route_name destination ship_name
公共停车场信息 | qd-jtysj | monthly | 停车场
    place_name capacity open_hours longitude latitude address
道路交通事故统计 | qd-gaj | monthly | 交通事故 统计
    period count hazard_type yoy
地铁客流统计 | qd-jtysj | daily,city | 地铁 客流
    period route_name flow_count yoy
机动车维修经营备案信息 | qd-jtysj | quarterly | 机动车维修
    @ent cert_no licence_scope address
危险货物道路运输企业名录 | qd-jtysj | quarterly | 危货运输
    @ent licence_no vehicle_type count
公路建设项目信息 | qd-jtysj | quarterly | 公路建设
    project_code project_name amount decision_date
[housing]
商品房预售许可信息 | qd-zjj | weekly | 预售许可 房地产
    @ent project_name licence_no building_area issue_date
建筑业企业资质信息 | qd-zjj | monthly | 建筑业 资质
    @ent cert_no category_name valid_to
建设工程施工许可信息 | qd-zjj | weekly | 施工许可
    project_code project_name @ent building_area issue_date
保障性住房分配信息 | qd-zjj | monthly | 保障房 住房保障
    person_name id_number home_address building_area decision_date
物业服务企业名录 | qd-zjj | quarterly | 物业
    @ent community address contact_phone
城市更新项目信息 | qd-zjj | quarterly | 城市更新
    project_code project_name land_area amount
不动产登记信息 | qd-zrzyj | daily | 不动产 登记
    property_cert parcel_no owner_name building_area decision_date
房屋网签备案统计 | qd-zjj | monthly | 网签 备案 统计
    period count building_area amount yoy
老旧小区改造项目 | qd-zjj | quarterly | 老旧小区 改造
    community project_name building_area amount
工程建设项目招标信息 | qd-ggzy | daily | 招投标 工程建设
    bid_project project_code bid_amount winner decision_date
[commerce]
跨境电商企业进出口额统计 | @swj | monthly | 跨境电商 进出口
    @ent district stat_year export_amount import_amount trade_mode
跨境电商出口独立站企业名单 | @swj | yearly | 跨境电商 独立站
    @ent site_url export_amount stat_year
跨境电商公共海外仓名单 | qd-swj | yearly,city | 海外仓 跨境电商
    @ent overseas_warehouse warehouse_country warehouse_area served_enterprises
跨境电商公用型仓库信息 | @swj | yearly | 公用型仓库 保税仓
    @ent warehouse_area served_enterprises amount
跨境电商进出口申报统计 | qd-hg | monthly,city | 跨境电商 海关
    period trade_mode declarations export_amount import_amount
外贸企业进出口统计 | qd-hg | monthly | 外贸 进出口
    @ent period hs_code destination export_amount import_amount
社会消费品零售总额统计 | qd-tjj | monthly | 消费 零售
    period retail_sales yoy
限额以上商贸企业名录 | @swj | yearly | 商贸企业
    @ent industry_name retail_sales address
商业综合体信息 | @swj | quarterly | 商业综合体 商圈
    place_name building_area count address
外商投资企业设立信息 | qd-swj | monthly | 外资
    @ent destination reg_capital found_date
对外承包工程统计 | qd-swj | quarterly,city | 对外承包
    period destination contract_amount yoy
老字号企业名录 | @swj | yearly | 老字号
    @ent honour recognised_year address
成品油零售经营企业名录 | qd-swj | quarterly | 成品油
    @ent licence_no address
[livelihood]
养老机构名录 | qd-mzj | quarterly | 养老机构
    org_name uscc beds care_level address contact_phone
居家养老服务对象信息 | qd-mzj | monthly | 居家养老
    elderly_name id_number care_level home_address subsidy_amount
最低生活保障对象信息 | qd-mzj | monthly | 低保 社会救助
    person_name id_number home_address subsidy_amount period
婚姻登记机关信息 | qd-mzj | yearly | 婚姻登记
    org_name open_hours address contact_phone
社区服务设施信息 | qd-mzj | quarterly | 社区 便民
    community place_name category_name address
政务服务事项清单 | qd-xzsp | monthly | 政务服务
    service_item handle_dept time_limit category_name
12345热线诉求统计 | qd-xzsp | monthly | 12345 热线
    period category_name count yoy
殡葬服务机构信息 | qd-mzj | yearly,city | 殡葬
    org_name category_name address contact_phone
残疾人补贴发放信息 | qd-mzj | monthly | 残疾人 补贴
    person_name id_number subsidy_amount period bank_account
退役军人服务站信息 | qd-tyjrj | yearly | 退役军人
    org_name community address contact_phone
公共法律服务机构信息 | qd-sfj | quarterly | 法律服务 公证
    org_name category_name address contact_phone
体育场馆开放信息 | qd-tyj | quarterly | 体育场馆 全民健身
    venue_name open_hours capacity address
[culture_tourism]
A级旅游景区名录 | qd-whlyj | quarterly | 景区 旅游
    scenic_name scenic_level address longitude latitude open_hours
旅行社名录 | qd-whlyj | quarterly | 旅行社
    @ent licence_no address contact_phone
星级饭店名录 | qd-whlyj | yearly | 饭店 住宿
    @ent category_name address
重点景区客流统计 | qd-whlyj | daily | 客流 景区
    scenic_name period visitors revenue yoy
公共文化场馆信息 | qd-whlyj | quarterly | 文化场馆 图书馆
    venue_name category_name open_hours address
文旅节庆活动信息 | qd-whlyj | monthly | 节庆 啤酒节
    event_name event_date place_name address
文物保护单位名录 | qd-whlyj | yearly | 文物
    place_name honour_level category_name address
网络文化经营许可信息 | qd-whlyj | quarterly | 网络文化 许可
    @ent licence_no licence_scope valid_to
游客投诉处理信息 | qd-whlyj | monthly | 游客投诉
    person_name mobile scenic_name decision_date remark
乡村旅游重点村名录 | qd-whlyj | yearly | 乡村旅游
    place_name honour_level recognised_year
[environment]
空气质量自动监测数据 | qd-sthjj | realtime | 空气质量 监测
    monitor_site stat_date pollutant concentration aqi
重点排污单位名录 | qd-sthjj | yearly | 排污单位
    @ent pollutant category_name address
排污许可证信息 | qd-sthjj | monthly | 排污许可
    @ent licence_no pollutant valid_from valid_to
建设项目环评审批信息 | qd-sthjj | weekly | 环评 审批
    project_code project_name @ent decision_no decision_date
地表水水质监测数据 | qd-sthjj | monthly | 水质 监测
    monitor_site stat_date pollutant concentration
近岸海域水质监测数据 | qd-sthjj | quarterly,city | 海域 水质
    monitor_site stat_date pollutant concentration
环境噪声监测数据 | qd-sthjj | quarterly | 噪声
    monitor_site stat_date value unit
生态环境行政处罚信息 | qd-sthjj | weekly | 环境 行政处罚
    decision_no @ent violation penalty fine_amount decision_date
生活垃圾分类处理统计 | qd-cgj | monthly | 垃圾分类
    period category_name output yoy
危险废物经营许可信息 | qd-sthjj | quarterly | 危险废物
    @ent licence_no licence_scope valid_to
[agriculture]
农作物种植面积统计 | qd-nyncj | yearly | 种植 统计
    stat_year crop planting_area output
农民专业合作社名录 | qd-nyncj | quarterly | 合作社
    @ent business_scope street address
家庭农场名录 | qd-nyncj | quarterly | 家庭农场
    org_name legal_rep mobile planting_area address
农村集体经济组织信息 | qd-nyncj | yearly | 集体经济
    uscc org_name street amount stat_year
农产品质量安全抽检结果 | qd-nyncj | monthly | 农产品 质量安全
    @ent crop inspect_date status
农业保险承保理赔统计 | qd-nyncj | quarterly | 农业保险
    period crop amount count
地理标志农产品名录 | qd-nyncj | yearly | 地理标志
    crop honour recognised_year place_name
农机购置补贴发放信息 | qd-nyncj | quarterly | 农机补贴
    person_name id_number subsidy_amount decision_date
畜禽规模养殖场名录 | qd-nyncj | quarterly | 畜牧 养殖
    @ent species count address
高标准农田建设项目 | qd-nyncj | yearly | 高标准农田
    project_name planting_area amount stat_year
[public_safety]
危险化学品经营许可信息 | qd-yjj | monthly | 危化品 许可
    @ent licence_no licence_scope valid_to address
安全生产行政处罚信息 | qd-yjj | weekly | 安全生产 处罚
    decision_no @ent violation penalty fine_amount decision_date
应急避难场所信息 | qd-yjj | yearly | 应急避难
    shelter_name capacity longitude latitude address
安全隐患排查治理信息 | qd-yjj | weekly | 隐患排查
    @ent hazard_type inspect_date rectified
自然灾害灾情统计 | qd-yjj | monthly | 自然灾害
    period hazard_type count amount
应急救援队伍信息 | qd-yjj | quarterly | 应急救援
    org_name capacity contact_phone address
消防安全重点单位名录 | qd-yjj | quarterly | 消防 重点单位
    @ent category_name inspect_date address
城市燃气经营许可信息 | qd-cgj | quarterly | 燃气 许可
    @ent licence_no licence_scope valid_to
防汛重点部位信息 | qd-swglj | yearly | 防汛
    place_name hazard_type longitude latitude
[science]
高新技术企业认定名单 | qd-kjj | yearly | 高新技术企业 认定
    @ent cert_no recognised_year district
专精特新中小企业名单 | qd-gxj | yearly | 专精特新 中小企业
    @ent honour honour_level recognised_year
科技型中小企业评价入库名单 | qd-kjj | quarterly | 科技型中小企业
    @ent cert_no recognised_year
企业专利授权信息 | qd-scjgj | monthly | 专利 知识产权
    patent_no patent_name patent_type @ent apply_date grant_date legal_status
专利发明人信息 | qd-scjgj | monthly | 专利 发明人
    patent_no inventor ent_name apply_date
重点实验室名录 | qd-kjj | yearly | 重点实验室 研发平台
    platform_name org_name honour_level recognised_year
技术合同登记信息 | qd-kjj | monthly | 技术合同
    @ent project_name contract_amount decision_date
科技计划项目立项信息 | qd-kjj | quarterly | 科技计划
    project_name @ent funding decision_date
瞪羚企业名单 | qd-gxj | yearly | 瞪羚企业
    @ent honour recognised_year industry_name
工业互联网平台名单 | qd-gxj | yearly,city | 工业互联网
    platform_name @ent honour_level recognised_year
[energy]
企业用水缴费信息 | qd-swglj | monthly | 用水 缴费
    @ent account_no period water_volume bill_amount paid_date arrears
企业用电缴费信息 | qd-gxj | monthly | 用电 缴费
    @ent account_no period power_kwh bill_amount paid_date arrears
企业用气缴费信息 | qd-cgj | monthly | 用气 燃气
    @ent account_no period gas_volume bill_amount paid_date
居民用水缴费信息 | qd-swglj | monthly | 居民用水
    person_name account_no home_address water_volume bill_amount
全社会用电量统计 | qd-gxj | monthly | 用电量 统计
    period category_name power_kwh yoy
重点用能单位名录 | qd-fgw | yearly | 能耗 节能
    @ent indicator value stat_year
供水水质公告 | qd-swglj | monthly | 供水 水质
    monitor_site stat_date pollutant concentration
取水许可信息 | qd-swglj | quarterly | 取水许可
    @ent licence_no water_volume valid_to
集中供热单位信息 | qd-cgj | yearly | 供热
    @ent building_area contact_phone address
[ocean]
海洋渔船信息 | qd-hyfzj | monthly | 渔船 渔业
    vessel_no ship_name vessel_power ent_name valid_to
海域使用权登记信息 | qd-hyfzj | quarterly | 海域使用
    @ent sea_area cert_no valid_to
海洋牧场名录 | qd-hyfzj | yearly | 海洋牧场
    ranch_name sea_area species honour_level
海洋生产总值统计 | qd-hyfzj | yearly,city | 海洋经济 统计
    stat_year indicator value yoy
近海水产捕捞统计 | qd-hyfzj | monthly | 捕捞 水产
    period species catch_ton yoy
海洋观测站监测数据 | qd-hyfzj | realtime,city | 海洋观测
    monitor_site stat_date sea_temp wave_height
水产养殖证信息 | qd-hyfzj | quarterly | 水产养殖
    @ent cert_no species sea_area
海洋涉海企业名录 | qd-hyfzj | yearly | 涉海企业 海洋经济
    @ent industry_name reg_capital address
渔船船员证书信息 | qd-hyfzj | monthly | 船员
    person_name id_number cert_no vessel_no valid_to
[organisations]
社会组织登记信息 | qd-mzj | monthly | 社会组织
    org_name uscc social_org_type legal_rep found_date address
事业单位登记信息 | qd-xzsp | quarterly | 事业单位
    org_name uscc business_scope reg_capital
律师事务所名录 | qd-sfj | quarterly | 律师事务所
    org_name uscc licence_no count address
公证机构名录 | qd-sfj | yearly,city | 公证
    org_name open_hours address contact_phone
行业协会商会名录 | qd-mzj | yearly | 行业协会
    org_name uscc category_name address
基金会信息 | qd-mzj | yearly,city | 基金会
    org_name uscc reg_capital found_date
行政执法主体名录 | qd-sfj | yearly | 行政执法
    org_name category_name legal_basis
[geospatial]
标准地名地址信息 | qd-zrzyj | monthly | 地名地址
    place_name place_type division_code longitude latitude
门楼牌地址信息 | qd-gaj | monthly | 门楼牌 地址
    address community street longitude latitude
国土空间规划分区信息 | qd-zrzyj | yearly | 国土空间规划
    parcel_no category_name land_area
基础测绘成果目录 | qd-zrzyj | yearly,city | 测绘
    map_scale category_name stat_year
土地供应结果信息 | qd-zrzyj | monthly | 土地供应
    parcel_no land_area winner amount decision_date
兴趣点数据 | qd-zrzyj | quarterly | POI
    place_name place_type longitude latitude address
"""


def _parse_subjects(table: str) -> dict[str, tuple[Subject, ...]]:
    out: dict[str, list[Subject]] = {}
    category = ""
    head: list[str] = []
    for line in table.strip().splitlines():
        if line.startswith("["):
            category = line.strip("[]")
            out[category] = []
        elif not line.startswith(" "):
            head = [p.strip() for p in line.split("|")]
        else:
            stem, dept, freq, tags = head
            fields = line.strip().replace("@ent", "uscc ent_name")
            out[category].append(Subject(stem, dept, fields, tags, freq.split(",")[0], not freq.endswith(",city")))
    return {k: tuple(v) for k, v in out.items()}


SUBJECTS = _parse_subjects(SUBJECT_TABLE)
