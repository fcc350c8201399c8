// A model of DynamicTable's lookup, to ask what the id map's entry size and load are worth before changing the
// library (issue 23, s23): 1M random int64 keys in a linear-probing map; per 512-id range, every id is looked up
// (entries prefetched 32 ahead) and then the 512-byte rows are copied (8 lines prefetched 8 rows ahead), as the
// library does; the peer copies the same rows without a map. Prints ns per id (least of 3) and dense/lookup.
// Entry layouts: E=32 key+slot+stamps, E=16 key+slot+32-bit stamp (written on every hit), E=8 32-bit fingerprint
// + slot (verify=0: no key check, a lower bound only; verify=1: the key checked in a per-slot key array).
// A cap above 64 is an entry count with a multiply-shift home instead of a power of two.
// Build and run: gcc -O2 -march=native -o /tmp/lookup-model benchmarks/stores/lookup-model.c
//                flock /tmp/embedsharp-bench.lock /tmp/lookup-model            (the separate map's entry sizes)
//                flock /tmp/embedsharp-bench.lock /tmp/lookup-model designs    (rows placed by hash: designs A and B)
//                flock /tmp/embedsharp-bench.lock /tmp/lookup-model simd       (design A with a 16-tag SIMD probe, and
//                                                                               without the key check: an upper bound)
//                flock /tmp/embedsharp-bench.lock /tmp/lookup-model split      (design A's passes timed alone)
//                flock /tmp/embedsharp-bench.lock /tmp/lookup-model fused      (design A, the tag probe inside the copy loop)
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <immintrin.h>
#define N 1000000
#define D 128
#define B 4096
#define NB 64
static uint64_t mix(uint64_t z){z+=0x9E3779B97F4A7C15ULL;z=(z^(z>>30))*0xBF58476D1CE4E5B9ULL;z=(z^(z>>27))*0x94D049BB133111EBULL;return z^(z>>31);}
static void* big(size_t n){void*p=aligned_alloc(1<<21,(n+(1<<21)-1)&~((size_t)(1<<21)-1));madvise(p,n,MADV_HUGEPAGE);memset(p,0,n);return p;}
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
float *rows; uint64_t keys[N]; int slotsOf[NB][B]; uint64_t idb[NB][B];
// generic map: entry size E bytes: key at 0 (8B), slot at 8 (4B) -- for E=8: fp32 at 0, slot at 4, verify with slotKey
uint32_t tickv; int E; uint64_t cap; unsigned bits; char* map; uint64_t* slotKey; int verify;
static int fr; static inline uint64_t home(uint64_t h){return fr? (uint64_t)(((unsigned __int128)h*cap)>>64) : h>>(64-bits);}
static inline uint64_t nxt(uint64_t p){return fr? (p+1==cap?0:p+1) : (p+1)&(cap-1);}
static void build(int e, int b, int v){E=e;bits=b;cap=b>64? (uint64_t)b : 1ULL<<b; fr=b>64;verify=v;map=big(cap*E);
 for(int i=0;i<N;i++){uint64_t h=mix(keys[i]);uint64_t p=home(h);
  for(;;p=nxt(p)){char*en=map+p*E; uint32_t s; memcpy(&s, en+(E==8?4:8),4); if(s==0)break;}
  char*en=map+p*E; uint32_t s1=i+1; if(E==8){uint32_t fp=(uint32_t)h; memcpy(en,&fp,4);memcpy(en+4,&s1,4);} else {memcpy(en,&keys[i],8);memcpy(en+8,&s1,4);} }}
static inline int find(uint64_t id){uint64_t h=mix(id);uint64_t p=home(h);
 for(;;p=nxt(p)){char*en=map+p*E;uint32_t s;memcpy(&s,en+(E==8?4:8),4);if(!s)return N;
  if(E==8){uint32_t fp;memcpy(&fp,en,4);if(fp==(uint32_t)h&&(!verify||slotKey[s-1]==id))return s-1;}
  else{uint64_t k;memcpy(&k,en,8);if(k==id){ if(E==32) memcpy(en+16,&h,8); if(E==16) memcpy(en+12,&tickv,4); return s-1;}}}}
static void copyrows(int*sl,int n,float*dst){for(int k=0;k<n;k++){if(k+8<n){char*p=(char*)(rows+(size_t)sl[k+8]*D);for(int l=0;l<512;l+=64)_mm_prefetch(p+l,_MM_HINT_T0);}
  memcpy(dst+(size_t)k*D,rows+(size_t)sl[k]*D,512);}}
float out[B*D]; int tmp[B];
static double run(int mode){ // 0 dense, 1 map
 double best=1e9; for(int r=0;r<3;r++){ tickv++;double t=now();
 for(int rep=0;rep<4;rep++) for(int b=0;b<NB;b++){
  if(!mode){for(int s=0;s<B;s+=512)copyrows(slotsOf[b]+s,512,out+(size_t)s*D);}
  else if(mode==1) for(int s=0;s<B;s+=512){uint64_t*ids=idb[b]+s;
    for(int k=0;k<512;k++){if(k+32<512)_mm_prefetch(map+home(mix(ids[k+32]))*E,_MM_HINT_T0);tmp[k]=find(ids[k]);
      }
    copyrows(tmp,512,out+(size_t)s*D);}
 } double e=(now()-t)/(4.0*NB*B)*1e9; if(e<best)best=e;} return best;}

// Designs that place rows by hash (issue 23, s23, 2026-12-08): no separate map line per id.
// A: a 1-byte tag per position (0 = empty, else 0x80 | 7 hash bits) in a small array; the row sits at the position
//    where its key sits (capacity C = N / load, multiply-shift home). Pass 1 over a 512-id range scans only tags
//    (prefetched 32 ahead) for the first position whose tag matches; pass 2 copies rows (prefetched 8 ahead, with
//    the key's line) and checks the full key, continuing the probe on a mismatch (a tag false positive).
//    keyAt: 1 = per-position key array (8 B a position, its own random line), 2 = one key line after every block of
//    8 rows (block stride 4,160 B), 3 = a 64-byte header line before each row (stride 576 B).
// B: no tags; the key in the row record's header line (stride 576 B), linear probing over records; pass 1 walks the
//    records' header lines (prefetched 32 ahead), pass 2 copies the found rows.
static uint8_t* tags; static char* arena; static uint64_t* pkey; static int keyAt; static uint64_t C;
static inline uint64_t homeC(uint64_t h){return (uint64_t)(((unsigned __int128)h*C)>>64);}
static inline uint64_t nxtC(uint64_t p){return p+1;} // an overflow tail of 4,096 positions past C, no wrap
static inline float* rowAt(uint64_t p){ if(keyAt==1) return (float*)(arena+p*512);
  if(keyAt==2) return (float*)(arena+(p>>3)*4160+(p&7)*512); return (float*)(arena+p*576+64);}
static inline uint64_t* keyPtr(uint64_t p){ if(keyAt==1) return pkey+p;
  if(keyAt==2) return (uint64_t*)(arena+(p>>3)*4160+4096+(p&7)*8); return (uint64_t*)(arena+p*576);}
static float* defRow;
static void buildA(int ka,double load,int useTags){keyAt=ka; C=(uint64_t)(N/load); uint64_t CT=C+4096; tags=big(CT); pkey=ka==1?big(CT*8):0;
 size_t ab= ka==1? CT*512 : ka==2? ((CT+7)/8)*4160 : CT*576; arena=big(ab); defRow=big(512);
 for(int i=0;i<N;i++){uint64_t h=mix(keys[i]);uint64_t p=homeC(h);while(tags[p])p=nxtC(p);if(p>=C+4096-16){printf("overflow tail full\n");exit(1);}tags[p]=0x80|(h&0x7f);*keyPtr(p)=keys[i];
  memcpy(rowAt(p),rows+(size_t)i*D,512);} (void)useTags;}
static void freeA(){free(tags);free(arena);free(defRow);if(pkey)free(pkey);}
static uint64_t candA[512]; static float* srcA[512];
static inline uint64_t slowA(uint64_t id,uint64_t p){ // continue after a tag false positive, full key checks
 uint8_t t=0x80|(mix(id)&0x7f); for(p=nxtC(p);tags[p];p=nxtC(p)) if(tags[p]==t&&*keyPtr(p)==id) return p; return UINT64_MAX;}
static void rangeA(uint64_t*ids,int n,float*dst){
 for(int k=0;k<n;k++){ if(k+32<n)_mm_prefetch((char*)tags+homeC(mix(ids[k+32])),_MM_HINT_T0);
  uint64_t h=mix(ids[k]);uint64_t p=homeC(h);uint8_t t=0x80|(h&0x7f);uint64_t c=UINT64_MAX;
  for(;tags[p];p=nxtC(p)) if(tags[p]==t){c=p;break;} candA[k]=c; }
 for(int k=0;k<n;k++){ if(k+8<n&&candA[k+8]!=UINT64_MAX){char*r=(char*)rowAt(candA[k+8]);for(int l=0;l<512;l+=64)_mm_prefetch(r+l,_MM_HINT_T0);
    _mm_prefetch((char*)keyPtr(candA[k+8]),_MM_HINT_T0);}
  uint64_t c=candA[k]; if(c!=UINT64_MAX&&*keyPtr(c)!=ids[k]) c=slowA(ids[k],c);
  memcpy(dst+(size_t)k*D,c==UINT64_MAX?defRow:rowAt(c),512);} }
static void rangeB(uint64_t*ids,int n,float*dst){
 for(int k=0;k<n;k++){ if(k+32<n)_mm_prefetch((char*)keyPtr(homeC(mix(ids[k+32]))),_MM_HINT_T0);
  uint64_t p=homeC(mix(ids[k]));uint64_t c=UINT64_MAX; for(;tags[p];p=nxtC(p)) if(*keyPtr(p)==ids[k]){c=p;break;} candA[k]=c; }
 for(int k=0;k<n;k++){ if(k+8<n&&candA[k+8]!=UINT64_MAX){char*r=(char*)rowAt(candA[k+8]);for(int l=0;l<512;l+=64)_mm_prefetch(r+l,_MM_HINT_T0);}
  uint64_t c=candA[k]; memcpy(dst+(size_t)k*D,c==UINT64_MAX?defRow:rowAt(c),512);} }
static double runAB(int b){ double best=1e9; for(int r=0;r<3;r++){double t=now();
 for(int rep=0;rep<4;rep++) for(int bb=0;bb<NB;bb++) for(int s=0;s<B;s+=512) (b?rangeB:rangeA)(idb[bb]+s,512,out+(size_t)s*D);
 double e=(now()-t)/(4.0*NB*B)*1e9; if(e<best)best=e;} return best;}
static void designs(){
 struct{int b,ka;double load;const char*name;} cf[]={{0,1,0.875,"A tags + key array"},{0,2,0.875,"A tags + key line per 8 rows"},{0,3,0.875,"A tags + key header per row"},
  {0,2,0.75,"A tags + key line per 8 rows"},{1,3,0.875,"B key header, no tags"},{1,3,0.5,"B key header, no tags"}};
 for(unsigned c=0;c<sizeof cf/sizeof cf[0];c++){ buildA(cf[c].ka,cf[c].load,!cf[c].b);
  for(int k=0;k<B;k++){ rangeA(idb[0],512,out); }
  for(int k=0;k<512;k++){ if(memcmp(out+(size_t)k*D,rows+(size_t)slotsOf[0][k]*D,512)){printf("bad %d\n",k);break;} }
  double d1=run(0), m=runAB(cf[c].b), d2=run(0);
  printf("%s, load %.3f (%zu MB rows+keys, %zu KB tags): dense %.1f/%.1f ns, lookup %.1f ns (ratio %.2f)\n",cf[c].name,cf[c].load,
    (size_t)((keyAt==1?C*520:keyAt==2?((C+7)/8)*4160:C*576)>>20),(size_t)(C>>10),d1,d2,m,(d1+d2)/2/m); fflush(stdout); freeA(); }
}

// Split of design A (one 512-id range at a time): the tag pass alone, the copy pass alone over positions resolved
// beforehand (with and without the key check), to see which part costs.
static uint64_t candAll[NB][B];
static void passTags(uint64_t*ids,int n,uint64_t*cand){
 for(int k=0;k<n;k++){ if(k+32<n)_mm_prefetch((char*)tags+homeC(mix(ids[k+32])),_MM_HINT_T0);
  uint64_t h=mix(ids[k]);uint64_t p=homeC(h);uint8_t t=0x80|(h&0x7f);uint64_t c=UINT64_MAX;
  for(;tags[p];p=nxtC(p)) if(tags[p]==t){c=p;break;} cand[k]=c; }}
static void passCopy(uint64_t*ids,uint64_t*cand,int n,float*dst,int check){
 for(int k=0;k<n;k++){ if(k+8<n){char*r=(char*)rowAt(cand[k+8]);for(int l=0;l<512;l+=64)_mm_prefetch(r+l,_MM_HINT_T0);
    if(check)_mm_prefetch((char*)keyPtr(cand[k+8]),_MM_HINT_T0);}
  if(check==3){memcpy(dst+(size_t)k*D,rowAt(cand[k]),512);continue;}
  if(check==4){uint64_t c=cand[k]; if(*(uint32_t*)rowAt(c)==0xFFFFFFFFu) c=slowA(ids[k],c); memcpy(dst+(size_t)k*D,rowAt(c),512);continue;}
  uint64_t c=cand[k]; if(check==1&&*keyPtr(c)!=ids[k]) c=slowA(ids[k],c);
  memcpy(dst+(size_t)k*D,rowAt(c),512);
  if(check==2&&*keyPtr(c)!=ids[k]){c=slowA(ids[k],c);memcpy(dst+(size_t)k*D,rowAt(c),512);}} }
static double runSplit(int what){ double best=1e9; for(int r=0;r<3;r++){double t=now();
 for(int rep=0;rep<4;rep++) for(int bb=0;bb<NB;bb++) for(int s=0;s<B;s+=512){
  if(what==0) passTags(idb[bb]+s,512,candAll[bb]+s); else passCopy(idb[bb]+s,candAll[bb]+s,512,out+(size_t)s*D,what-1);}
 double e=(now()-t)/(4.0*NB*B)*1e9; if(e<best)best=e;} return best;}
static void split(){ int kas[]={1,3}; for(int i=0;i<2;i++){ buildA(kas[i],0.875,1);
 for(int bb=0;bb<NB;bb++)passTags(idb[bb],B,candAll[bb]);
 double d1=run(0),t=runSplit(0),c0=runSplit(1),c1=runSplit(2),c2=runSplit(3),c3=runSplit(4),c4=runSplit(5),all=runAB(0),d2=run(0);
 char buf[256];FILE*f=fopen("/proc/self/smaps_rollup","r");while(fgets(buf,256,f))if(strstr(buf,"AnonHuge"))printf("  %s",buf);fclose(f);
 printf("keyAt=%d: dense %.1f/%.1f, tags alone %.1f, copy alone %.1f, copy+key check before %.1f / after %.1f, whole %.1f ns; copy+key prefetch only %.1f, check on the row line %.1f\n",keyAt,d1,d2,t,c0,c1,c2,all,c3,c4);fflush(stdout);freeA();}}

// Design A with a SIMD tag probe: 16 tags compared at once (first match before the first empty), as Swiss tables do.
static int noCheck; // 1: no key check at all (not collision-free: an upper bound only)
static void rangeAS(uint64_t*ids,int n,float*dst){
 for(int k=0;k<n;k++){ if(k+32<n)_mm_prefetch((char*)tags+homeC(mix(ids[k+32])),_MM_HINT_T0);
  uint64_t h=mix(ids[k]);uint64_t p=homeC(h);__m128i t=_mm_set1_epi8((char)(0x80|(h&0x7f)));uint64_t c=UINT64_MAX;
  for(;;p+=16){__m128i v=_mm_loadu_si128((__m128i*)(tags+p));unsigned m=_mm_movemask_epi8(_mm_cmpeq_epi8(v,t)),e=_mm_movemask_epi8(_mm_cmpeq_epi8(v,_mm_setzero_si128()));
   if(e)m&=(e&-e)-1; if(m){c=p+__builtin_ctz(m);break;} if(e)break;}
  candA[k]=c; }
 for(int k=0;k<n;k++){ if(k+8<n&&candA[k+8]!=UINT64_MAX){char*r=(char*)rowAt(candA[k+8]);for(int l=0;l<512;l+=64)_mm_prefetch(r+l,_MM_HINT_T0);
    if(!noCheck)_mm_prefetch((char*)keyPtr(candA[k+8]),_MM_HINT_T0);}
  uint64_t c=candA[k]; memcpy(dst+(size_t)k*D,c==UINT64_MAX?defRow:rowAt(c),512);
  if(!noCheck&&c!=UINT64_MAX&&*keyPtr(c)!=ids[k]){c=slowA(ids[k],c);memcpy(dst+(size_t)k*D,c==UINT64_MAX?defRow:rowAt(c),512);} } }
static double runAS(void){ double best=1e9; for(int r=0;r<3;r++){double t=now();
 for(int rep=0;rep<4;rep++) for(int bb=0;bb<NB;bb++) for(int s=0;s<B;s+=512) rangeAS(idb[bb]+s,512,out+(size_t)s*D);
 double e=(now()-t)/(4.0*NB*B)*1e9; if(e<best)best=e;} return best;}
static void simd(){ struct{int ka;double load;}cf[]={{1,0.875},{3,0.875},{1,0.75},{1,0.5}};
 for(int c=0;c<4;c++){ buildA(cf[c].ka,cf[c].load,1); rangeAS(idb[0],512,out);
  for(int k=0;k<512;k++) if(memcmp(out+(size_t)k*D,rows+(size_t)slotsOf[0][k]*D,512)){printf("bad %d\n",k);break;}
  double d1=run(0),a=runAB(0),m=runAS();noCheck=1;double u=runAS();noCheck=0;double d2=run(0);
  printf("A keyAt=%d load %.3f: dense %.1f/%.1f, byte probe %.1f (%.2f), SIMD probe %.1f ns (ratio %.2f), SIMD probe without the key check %.1f ns (%.2f, not collision-free)\n",cf[c].ka,cf[c].load,d1,d2,a,(d1+d2)/2/a,m,(d1+d2)/2/m,u,(d1+d2)/2/u);fflush(stdout);freeA();}}

// Design A fused: the tag probe (cache-resident, compute-bound) runs LEAD ids ahead inside the copy loop, so it can
// hide under the row misses instead of running as a pass of its own; the row and key lines are prefetched as soon
// as the probe names the position, the key checked after the copy.
static inline uint64_t probeTags(uint64_t id){uint64_t h=mix(id);uint64_t p=homeC(h);__m128i t=_mm_set1_epi8((char)(0x80|(h&0x7f)));
 for(;;p+=16){__m128i v=_mm_loadu_si128((__m128i*)(tags+p));unsigned m=_mm_movemask_epi8(_mm_cmpeq_epi8(v,t)),e=_mm_movemask_epi8(_mm_cmpeq_epi8(v,_mm_setzero_si128()));
  if(e)m&=(e&-e)-1; if(m)return p+__builtin_ctz(m); if(e)return UINT64_MAX;}}
static int lead=8;
static void rangeAF(uint64_t*ids,int n,float*dst){
 uint64_t cand[512+64];
 for(int k=0;k<n+lead;k++){
  if(k<n){uint64_t c=probeTags(ids[k]);cand[k]=c;
   if(c!=UINT64_MAX){char*r=(char*)rowAt(c);for(int l=0;l<512;l+=64)_mm_prefetch(r+l,_MM_HINT_T0);if(!noCheck)_mm_prefetch((char*)keyPtr(c),_MM_HINT_T0);}}
  int j=k-lead; if(j<0)continue;
  uint64_t c=cand[j]; memcpy(dst+(size_t)j*D,c==UINT64_MAX?defRow:rowAt(c),512);
  if(!noCheck&&c!=UINT64_MAX&&*keyPtr(c)!=ids[j]){c=slowA(ids[j],c);memcpy(dst+(size_t)j*D,c==UINT64_MAX?defRow:rowAt(c),512);} } }
static double runAF(void){ double best=1e9; for(int r=0;r<3;r++){double t=now();
 for(int rep=0;rep<4;rep++) for(int bb=0;bb<NB;bb++) for(int s=0;s<B;s+=512) rangeAF(idb[bb]+s,512,out+(size_t)s*D);
 double e=(now()-t)/(4.0*NB*B)*1e9; if(e<best)best=e;} return best;}
static void fused(){ struct{int ka;double load;}cf[]={{1,0.875},{3,0.875},{1,0.75}};
 for(int c=0;c<3;c++){ buildA(cf[c].ka,cf[c].load,1); lead=8; rangeAF(idb[0],512,out);
  for(int k=0;k<512;k++) if(memcmp(out+(size_t)k*D,rows+(size_t)slotsOf[0][k]*D,512)){printf("bad %d\n",k);break;}
  double d1=run(0),two=runAS(); printf("A keyAt=%d load %.3f: two passes %.1f ns",cf[c].ka,cf[c].load,two);
  int leads[]={4,8,16}; double r[3],u;
  for(int i=0;i<3;i++){lead=leads[i];r[i]=runAF();}
  lead=8;noCheck=1;u=runAF();noCheck=0; double d2=run(0),d=(d1+d2)/2;
  printf(", fused lead 4/8/16 %.1f/%.1f/%.1f ns; dense %.1f/%.1f: ratios two passes %.2f, fused %.2f/%.2f/%.2f, fused no key check %.2f\n",r[0],r[1],r[2],d1,d2,d/two,d/r[0],d/r[1],d/r[2],d/u);fflush(stdout);freeA();}}
int main(int argc,char**argv){ rows=big((size_t)(N+1)*D*4); for(size_t i=0;i<(size_t)(N+1)*D;i++)rows[i]=i;
 srand(42); for(int i=0;i<N;i++)keys[i]=((uint64_t)rand()<<40)^((uint64_t)rand()<<20)^rand()^((uint64_t)i<<62);
 slotKey=big(N*8); for(int i=0;i<N;i++)slotKey[i]=keys[i];
 for(int b=0;b<NB;b++)for(int k=0;k<B;k++){int r=rand()%N; slotsOf[b][k]=r; idb[b][k]=keys[r];}
 if(argc>1&&!strcmp(argv[1],"designs")){designs();return 0;}
 if(argc>1&&!strcmp(argv[1],"split")){split();return 0;}
 if(argc>1&&!strcmp(argv[1],"simd")){simd();return 0;}
 if(argc>1&&!strcmp(argv[1],"fused")){fused();return 0;}
 int cfg[][3]={{32,21,0},{16,21,0},{16,1250000,0},{16,1400000,0},{8,21,0},{8,21,1}};
 for(int c=0;c<6;c++){ build(cfg[c][0],cfg[c][1],cfg[c][2]);
   // sanity
   for(int k=0;k<100;k++) if(find(idb[0][k])!=slotsOf[0][k]) {printf("bad\n");}
   double d1=run(0), m=run(1), d2=run(0);
   printf("E=%d cap=%d (%zu MB) verify=%d: dense %.1f/%.1f ns, map %.1f ns (ratio %.2f)\n",cfg[c][0],cfg[c][1],(size_t)(cap*E>>20),cfg[c][2],d1,d2,m,(d1+d2)/2/m); fflush(stdout);
   free(map);}
}
