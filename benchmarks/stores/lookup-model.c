// A model of DynamicTable's lookup, to ask what the id map's entry size and load are worth before changing the
// library (issue 23, s23): 1M random int64 keys in a linear-probing map; per 512-id range, every id is looked up
// (entries prefetched 32 ahead) and then the 512-byte rows are copied (8 lines prefetched 8 rows ahead), as the
// library does; the peer copies the same rows without a map. Prints ns per id (least of 3) and dense/lookup.
// Entry layouts: E=32 key+slot+stamps, E=16 key+slot+32-bit stamp (written on every hit), E=8 32-bit fingerprint
// + slot (verify=0: no key check, a lower bound only; verify=1: the key checked in a per-slot key array).
// A cap above 64 is an entry count with a multiply-shift home instead of a power of two.
// Build and run: gcc -O2 -march=native -o /tmp/lookup-model benchmarks/stores/lookup-model.c
//                flock /tmp/embedsharp-bench.lock /tmp/lookup-model
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
int main(int argc,char**argv){ rows=big((size_t)(N+1)*D*4); for(size_t i=0;i<(size_t)(N+1)*D;i++)rows[i]=i;
 srand(42); for(int i=0;i<N;i++)keys[i]=((uint64_t)rand()<<40)^((uint64_t)rand()<<20)^rand()^((uint64_t)i<<62);
 slotKey=big(N*8); for(int i=0;i<N;i++)slotKey[i]=keys[i];
 for(int b=0;b<NB;b++)for(int k=0;k<B;k++){int r=rand()%N; slotsOf[b][k]=r; idb[b][k]=keys[r];}
 int cfg[][3]={{32,21,0},{16,21,0},{16,1250000,0},{16,1400000,0},{8,21,0},{8,21,1}};
 for(int c=0;c<6;c++){ build(cfg[c][0],cfg[c][1],cfg[c][2]);
   // sanity
   for(int k=0;k<100;k++) if(find(idb[0][k])!=slotsOf[0][k]) {printf("bad\n");}
   double d1=run(0), m=run(1), d2=run(0);
   printf("E=%d cap=%d (%zu MB) verify=%d: dense %.1f/%.1f ns, map %.1f ns (ratio %.2f)\n",cfg[c][0],cfg[c][1],(size_t)(cap*E>>20),cfg[c][2],d1,d2,m,(d1+d2)/2/m); fflush(stdout);
   free(map);}
}
